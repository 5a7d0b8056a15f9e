-- A small, deterministic HishamOS data set for the profiles tests: enough
-- rows that every statement of hishamos.yaml finds some, with one hot user
-- (user 1 owns half the agent executions) so skews can be told apart.
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
SELECT '!', false, 'user' || i, 'First', 'Last', 'user' || i || '@example.com', false, true, '2024-01-01'
FROM generate_series(1, 20) AS i;

INSERT INTO commands_commandcategory (name, slug, description, icon, "order", created_at, updated_at)
SELECT 'Category ' || i, 'category-' || i, '', 'icon', i, '2024-01-01', '2024-01-01'
FROM generate_series(1, 4) AS i;

INSERT INTO agents_agent (agent_id, name, description, agent_type, capabilities, system_prompt,
    preferred_platform, fallback_platforms, model_name, temperature, max_tokens, status,
    total_invocations, total_tokens_used, total_cost, success_rate, average_response_time,
    last_invoked_at, created_at, updated_at)
SELECT 'agent-' || i, 'Agent ' || i, '', 'coder', '[]', '', (ARRAY['openai', 'anthropic'])[1 + i % 2], '[]',
    'model', 0.7, 4096, (ARRAY['active', 'active', 'inactive'])[1 + i % 3], i * 10, i * 1000, i, 0.9, 1.5,
    NULL, '2024-01-01', '2024-01-01'
FROM generate_series(1, 6) AS i;

INSERT INTO commands_commandtemplate (name, slug, description, category_id, template, parameters, tags,
    recommended_agent_id, required_capabilities, estimated_cost, avg_execution_time, usage_count,
    success_rate, is_active, version, created_at, updated_at)
SELECT 'Template ' || i, 'template-' || i, '', 1 + i % 4, 'do {x}', '{}', '[]',
    CASE WHEN i % 5 = 0 THEN NULL ELSE 1 + i % 6 END, '[]', 0.01, 1.0, i * 3, 50 + i, i % 7 <> 0, '1.0',
    '2024-01-01', '2024-01-01'
FROM generate_series(1, 40) AS i;

INSERT INTO agents_agentexecution (agent_id, user_id, input_data, status, platform_used, model_used,
    tokens_used, cost, error_message, created_at)
SELECT 1 + i % 6, CASE WHEN i % 2 = 0 THEN 1 ELSE 1 + i % 20 END, '{}',
    (ARRAY['completed', 'failed', 'running'])[1 + i % 3], (ARRAY['openai', 'anthropic'])[1 + i % 2],
    'model', 100, 0.01, '', timestamptz '2024-12-06 12:00:00+00' - i * interval '1 hour'
FROM generate_series(1, 300) AS i;

INSERT INTO workflows_workflow (name, slug, description, definition, version, status, is_template, user_id,
    created_at, updated_at)
SELECT 'Workflow ' || i, 'workflow-' || i, '', '{}', '1.0', (ARRAY['active', 'draft'])[1 + i % 2], i % 5 = 0,
    1 + i % 20, timestamptz '2024-12-01' - i * interval '1 day', '2024-12-01'
FROM generate_series(1, 30) AS i;

INSERT INTO workflows_workflowexecution (workflow_id, user_id, status, input_data, context, current_step,
    error_message, started_at, created_at)
SELECT 1 + i % 30, 1 + i % 20, (ARRAY['completed', 'failed', 'running'])[1 + i % 3], '{}', '{}', '', '',
    timestamptz '2024-12-06' - i * interval '2 hours', timestamptz '2024-12-06' - i * interval '2 hours'
FROM generate_series(1, 100) AS i;

INSERT INTO workflows_workflowstep (execution_id, step_id, step_name, step_order, status, input_data,
    error_message, created_at)
SELECT 1 + i % 100, 'step-' || i, 'Step', i / 100, (ARRAY['completed', 'pending'])[1 + i % 2], '{}', '',
    '2024-12-06'
FROM generate_series(0, 399) AS i;

ANALYZE;
