-- A workload whose one index makes a statement slower while it reads fewer
-- buffers (see README.md): `make bench-aa` measures it before and after
-- index.sql, and bench must call it regressed. The other statements are
-- controls that no index here touches: their drift is the machine's.

-- name: idle_users_of_long_executions
SELECT we.id
FROM workflows_workflowexecution we
WHERE (we.completed_at - we.started_at > interval '28 minutes' OR we.started_at - we.created_at > interval '1 minute')
  AND NOT EXISTS (
    SELECT 1 FROM agents_agentexecution e
    WHERE e.user_id = we.user_id AND e.status = 'completed');

-- name: active_agents_count
SELECT count(*) FROM agents_agent WHERE status = 'active';

-- name: templates_of_category
SELECT id, name FROM commands_commandtemplate WHERE category_id = 3 ORDER BY name LIMIT 20;

-- name: steps_of_execution
SELECT id, step_name FROM workflows_workflowstep WHERE execution_id = 42 ORDER BY step_order;

-- name: workflows_of_user
SELECT id, name FROM workflows_workflow WHERE user_id = 57;
