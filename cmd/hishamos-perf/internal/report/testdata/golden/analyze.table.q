┌───┬───────┬────────┬────────┬───────┬────────┬───────┬────────┬───────┬──────┬───────────┐
│ # │ calls │ total  │ mean   │ share │ rows/c │ hit/c │ read/c │ hit%  │ temp │ plan      │
├───┼───────┼────────┼────────┼───────┼────────┼───────┼────────┼───────┼──────┼───────────┤
│ 1 │     4 │ 66.2ms │ 16.6ms │ 99.1% │    1.0 │    99 │      0 │ 100.0 │    0 │ estimated │
│ 2 │     7 │ 0.44ms │ 0.06ms │  0.7% │    3.0 │   4.0 │      0 │ 100.0 │    0 │ generic   │
│ 3 │     1 │ 0.17ms │ 0.17ms │  0.3% │    1.0 │     0 │      0 │     - │    0 │ estimated │
└───┴───────┴────────┴────────┴───────┴────────┴───────┴────────┴───────┴──────┴───────────┘

├─ #1 SELECT (SELECT count(*) FROM "auth_user"), (SELECT count(*) FROM "projects_project"), (SE…
│    estimated plan c38575ef, cost 1759; hot: Index Only Scan using
│    workflows_workflowstep_agent_id_0e5c9a28 on workflows_workflowstep 48%, Index Only Scan using
│    agents_agentexecution_agent_id_1f0e9c3b on agents_agentexecution 26%
├─ #2 SELECT extname || $1 || extversion FROM pg_extension WHERE extname <> $2 ORDER BY 1
│    generic plan 1ada9107, cost 1; hot: Seq Scan on pg_extension 99%
└─ #3 SELECT pg_stat_statements_reset(), pg_stat_reset()
     estimated plan 6e7d50e8, cost 0; hot: Result 100%

├─ INFO unused-index on index public.auth_user_username_6821ab7c_like
│    index auth_user_username_6821ab7c_like (32 kB) has had no scans since the statistics were reset
│    1 seconds ago
│    fix: DROP INDEX CONCURRENTLY public.auth_user_username_6821ab7c_like; after checking that no
│    replica reads it (their statistics are their own) and no rare job needs it.
├─ INFO unused-index on index public.commands_commandcategory_slug_2a6f1c1e_like
│    index commands_commandcategory_slug_2a6f1c1e_like (16 kB) has had no scans since the statistics
│    were reset 1 seconds ago
│    fix: DROP INDEX CONCURRENTLY public.commands_commandcategory_slug_2a6f1c1e_like; after checking
│    that no replica reads it (their statistics are their own) and no rare job needs it.
├─ INFO unused-index on index public.commands_commandtemplate_slug_8d0c54f2_like
│    index commands_commandtemplate_slug_8d0c54f2_like (40 kB) has had no scans since the statistics
│    were reset 1 seconds ago
│    fix: DROP INDEX CONCURRENTLY public.commands_commandtemplate_slug_8d0c54f2_like; after checking
│    that no replica reads it (their statistics are their own) and no rare job needs it.
└─ INFO unused-index on index public.workflows_workflow_slug_3e7a9b20_like
     index workflows_workflow_slug_3e7a9b20_like (32 kB) has had no scans since the statistics were
     reset 1 seconds ago
     fix: DROP INDEX CONCURRENTLY public.workflows_workflow_slug_3e7a9b20_like; after checking that
     no replica reads it (their statistics are their own) and no rare job needs it.

┌──────────────────────────────────────┬──────────────────────────┬─────────┬───────┬──────────────┐
│ index                                │ table                    │ size    │ scans │ findings     │
├──────────────────────────────────────┼──────────────────────────┼─────────┼───────┼──────────────┤
│ commands_commandtemplate_slug_8d0c5… │ commands_commandtemplate │   40 kB │     0 │ unused-index │
│ auth_user_username_6821ab7c_like     │ auth_user                │   32 kB │     0 │ unused-index │
│ workflows_workflow_slug_3e7a9b20_li… │ workflows_workflow       │   32 kB │     0 │ unused-index │
│ commands_commandcategory_slug_2a6f1… │ commands_commandcategory │   16 kB │     0 │ unused-index │
│ workflows_workflowstep_pkey          │ workflows_workflowstep   │ 1000 kB │     0 │              │
│ agents_agentexecution_pkey           │ agents_agentexecution    │  544 kB │     0 │              │
│ workflows_workflowstep_execution_id… │ workflows_workflowstep   │  528 kB │     3 │              │
│ workflows_workflowstep_agent_id_0e5… │ workflows_workflowstep   │  328 kB │     5 │              │
│ workflows_workflowexecution_pkey     │ workflows_workflowexecu… │  216 kB │     3 │              │
│ agents_agentexecution_user_id_6a2d4… │ agents_agentexecution    │  192 kB │     3 │              │
│ agents_agentexecution_agent_id_1f0e… │ agents_agentexecution    │  184 kB │     5 │              │
│ workflows_workflowexecution_user_id… │ workflows_workflowexecu… │   88 kB │     3 │              │
│ workflows_workflowexecution_workflo… │ workflows_workflowexecu… │   88 kB │     7 │              │
│ commands_commandtemplate_slug_key    │ commands_commandtemplate │   40 kB │     0 │              │
│ projects_project_pkey                │ projects_project         │   40 kB │     3 │              │
└──────────────────────────────────────┴──────────────────────────┴─────────┴───────┴──────────────┘
