file                                                                          state
────────────────────────────────────────────────────────────────────────────  ──────────────────────
20261207033721_add_performance_indexes…gent_status_total_invocations_idx.sql  applied, then reverted
20261207033722_add_performance_indexes…tion_platform_used_created_at_idx.sql  applied, then reverted
20261207033723_add_performance_indexes…ion_user_id_status_created_at_idx.sql  applied, then reverted
20261207033724_add_performance_indexes…gory_id_success_rate_6480b916_idx.sql  applied, then reverted
20261207033725_add_performance_indexes…ommandtemplate_is_active_name_idx.sql  applied, then reverted
20261207033726_add_performance_indexes…emplate_is_active_usage_count_idx.sql  applied, then reverted
20261207033727_add_performance_indexes…ate_recommended_agent_id_name_idx.sql  applied, then reverted
20261207033728_add_performance_indexes…e_usage_count_where_is_active_idx.sql  applied, then reverted
20261207033729_add_performance_indexes…_workflowexecution_started_at_idx.sql  applied, then reverted
20261207033730_add_performance_indexes…workflow_id_status_started_at_idx.sql  applied, then reverted
20261207033731_add_performance_indexes…kflowstep_execution_id_status_idx.sql  applied, then reverted

                           p50    p95    p99   mean  server
statement         calls     ms     ms     ms     ms      ms  rows/call  buffers/call
────────────────  ─────  ─────  ─────  ─────  ─────  ──────  ─────────  ────────────
command_…t_after     20  0.108  1.348  1.452  0.232       -       20.0          62.0
command_…ategory     20  0.353  2.539  3.667  0.520       -       19.4          39.0
popular_commands     20  0.086  0.141  0.145  0.092       -       10.0          40.0
command_…r_agent     20  0.113  0.375  0.408  0.125       -       14.8          24.7
agents_by_status     20  0.096  0.815  1.139  0.152       -       18.2           9.0
agents_b…latform     20  0.073  1.022  1.321  0.165       -       12.8           9.0
agent_ex…of_user     20  0.162  4.118  4.700  0.774       -       13.9         255.8
agent_ex…latform     20  0.113  0.198  0.204  0.127       -       20.0           7.0
workflow…of_user     20  0.052  0.445  0.577  0.095       -        6.1          12.4
workflow…mplates     20  0.111  0.185  0.216  0.115       -       26.0          43.0
workflow…_status     20  0.132  2.623  3.106  0.424       -       15.2          80.5
workflow…ecution     20  0.059  0.152  0.153  0.074       -        9.0           3.1
workflow…_status     20  0.038  0.951  1.412  0.111       -        1.0           3.0
dashboar…n_stats     20  0.087  0.697  0.723  0.178       -        4.3           8.7
dashboar…_agents     20  0.031  0.069  0.073  0.038       -        1.0           2.0
dashboar…n_stats     20  0.167  2.309  2.986  0.360       -        5.0           6.0
↳ comman…s_count     20  0.054  0.833  1.241  0.116       -        1.0           4.0

index · agents_agent_status_total_invocations_idx
  before              missing
  after               CREATE INDEX agents_agent_status_total_invocations_idx ON public.agents_agent
                      USING btree (status, total_invocations DESC)
  makes inconclusive  no

index · agents_agentexecution_platform_used_created_at_idx
  before              missing
  after               CREATE INDEX agents_agentexecution_platform_used_created_at_idx ON
                      public.agents_agentexecution USING btree (platform_used, created_at DESC)
  makes inconclusive  no

index · agents_agentexecution_user_id_status_created_at_idx
  before              missing
  after               CREATE INDEX agents_agentexecution_user_id_status_created_at_idx ON
                      public.agents_agentexecution USING btree (user_id, status, created_at DESC)
                      INCLUDE (id)
  makes inconclusive  no

index · commands_commandtemplate_category_id_success_rate_6480b916_idx
  before              missing
  after               CREATE INDEX commands_commandtemplate_category_id_success_rate_6480b916_idx ON
                      public.commands_commandtemplate USING btree (category_id, success_rate DESC)
                      WHERE is_active
  makes inconclusive  no

index · commands_commandtemplate_is_active_name_idx
  before              missing
  after               CREATE INDEX commands_commandtemplate_is_active_name_idx ON
                      public.commands_commandtemplate USING btree (is_active, name)
  makes inconclusive  no

index · commands_commandtemplate_is_active_usage_count_idx
  before              missing
  after               CREATE INDEX commands_commandtemplate_is_active_usage_count_idx ON
                      public.commands_commandtemplate USING btree (is_active, usage_count DESC)
  makes inconclusive  no

index · commands_commandtemplate_recommended_agent_id_name_idx
  before              missing
  after               CREATE INDEX commands_commandtemplate_recommended_agent_id_name_idx ON
                      public.commands_commandtemplate USING btree (recommended_agent_id, name)
  makes inconclusive  no

index · commands_commandtemplate_usage_count_where_is_active_idx
  before              missing
  after               CREATE INDEX commands_commandtemplate_usage_count_where_is_active_idx ON
                      public.commands_commandtemplate USING btree (usage_count DESC) WHERE is_active
  makes inconclusive  no

index · workflows_workflowexecution_started_at_idx
  before              missing
  after               CREATE INDEX workflows_workflowexecution_started_at_idx ON
                      public.workflows_workflowexecution USING btree (started_at) INCLUDE (id,
                      status)
  makes inconclusive  no

index · workflows_workflowexecution_workflow_id_status_started_at_idx
  before              missing
  after               CREATE INDEX workflows_workflowexecution_workflow_id_status_started_at_idx ON
                      public.workflows_workflowexecution USING btree (workflow_id, status,
                      started_at DESC)
  makes inconclusive  no

index · workflows_workflowstep_execution_id_status_idx
  before              missing
  after               CREATE INDEX workflows_workflowstep_execution_id_status_idx ON
                      public.workflows_workflowstep USING btree (execution_id, status)
  makes inconclusive  no

                  before  after          server
statement            p50    p50  change  ms      plan     verdict       vs promised 40–60%
────────────────  ──────  ─────  ──────  ──────  ───────  ────────────  ──────────────────
command_…t_after   0.909  0.108  -88.1%  -       changed  improved      -
command_…ategory   0.340  0.353   +4.0%  -       changed  improved      -
popular_…mands *   1.387  0.086  -93.8%  -       changed  improved      94% faster: above
command_…r_agent   0.236  0.113  -52.3%  -       same     inconclusive  -
agents_b…tatus *   0.772  0.096  -87.5%  -       changed  improved      88% faster: above
agents_b…latform   0.125  0.073  -41.4%  -       changed  inconclusive  -
agent_ex…_user *   0.769  0.162  -79.0%  -       changed  improved      79% faster: above
agent_ex…tform *  30.623  0.113  -99.6%  -       changed  improved      100% faster: above
workflow…of_user   0.153  0.052  -65.7%  -       same     inconclusive  -
workflow…mplates   0.299  0.111  -62.9%  -       same     inconclusive  -
workflow…tatus *   0.991  0.132  -86.7%  -       changed  improved      87% faster: above
workflow…ecution   0.092  0.059  -36.3%  -       same     inconclusive  -
workflow…tatus *   0.066  0.038  -42.7%  -       changed  improved      43% faster: within
dashboar…stats *   2.457  0.087  -96.5%  -       changed  improved      96% faster: above
dashboar…gents *   0.312  0.031  -90.1%  -       changed  improved      90% faster: above
dashboar…n_stats   3.041  0.167  -94.5%  -       changed  improved      -
command_…s_count   1.098  0.054  -95.1%  -       changed  improved      -

--expect 40% · agents_by_status
  result  median 87.5% faster, at worst 36.9% faster at 95% confidence; buffers per call unchanged
          (9.0 → 9.0); expected at least 40% faster

--expect 40% · agent_executions_of_user
  result  median 79.0% faster, at worst 860.2% slower at 95% confidence; buffers per call 27% fewer
          (348.3 → 255.8); expected at least 40% faster

--expect 40% · workflow_executions_by_status
  result  median 86.7% faster, at worst 142.3% slower at 95% confidence; buffers per call 40% fewer
          (133.7 → 80.5); expected at least 40% faster

--expect 40% · workflow_step_count_by_status
  result  median 42.7% faster, at worst 38.3% slower at 95% confidence; buffers per call 10% fewer
          (3.4 → 3.0); expected at least 40% faster

--expect 40% · dashboard_agent_execution_stats
  result  median 96.5% faster, at worst 36.8% faster at 95% confidence; expected at least 40% faster

--expect 40% · dashboard_active_agents
  result  median 90.1% faster, at worst 35.9% faster at 95% confidence; expected at least 40% faster

--max-regression 10%
  result  passed (17 statements checked)
