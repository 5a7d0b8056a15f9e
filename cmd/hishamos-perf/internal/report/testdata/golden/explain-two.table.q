Limit · cost 42, 0% self · rows 1 est
└─ Sort · cost 42, 0% self · rows 1 est
   │   Sort Key: agents_agentexecution.created_at DESC
   └─ Bitmap Heap Scan on agents_agentexecution · cost 42, 90% self · rows 1 est
      │   Recheck Cond: (agents_agentexecution.user_id = 3)
      │   Filter: ((agents_agentexecution.status)::text = 'failed'::text)
      └─ Bitmap Index Scan using agents_agentexecution_user_id_6a2d4e8f · cost 4, 10% self · rows 10
           est
           Index Cond: (agents_agentexecution.user_id = 3)


Limit · cost 42, 0% self · rows 1 est
└─ Sort · cost 42, 0% self · rows 1 est
   │   Sort Key: agents_agentexecution.created_at DESC
   └─ Bitmap Heap Scan on agents_agentexecution · cost 42, 90% self · rows 1 est
      │   Recheck Cond: (agents_agentexecution.user_id = 3)
      │   Filter: ((agents_agentexecution.status)::text = 'failed'::text)
      └─ Bitmap Index Scan using agents_agentexecution_user_id_6a2d4e8f · cost 4, 10% self · rows 10
           est
           Index Cond: (agents_agentexecution.user_id = 3)

