┌───────────────────────────────────────────────────────────────────────────────────────────────────────────┬──────────┐
│ file                                                                                                      │ state    │
├───────────────────────────────────────────────────────────────────────────────────────────────────────────┼──────────┤
│ 20261207033721_add_performance_indexes_agents_agent_status_total_invocations_idx.sql                      │ applied, │
│                                                                                                           │ then     │
│                                                                                                           │ reverted │
│ 20261207033722_add_performance_indexes_agents_agentexecution_platform_used_created_at_idx.sql             │ applied, │
│                                                                                                           │ then     │
│                                                                                                           │ reverted │
│ 20261207033723_add_performance_indexes_agents_agentexecution_user_id_status_created_at_idx.sql            │ applied, │
│                                                                                                           │ then     │
│                                                                                                           │ reverted │
│ 20261207033724_add_performance_indexes_commands_commandtemplate_category_id_success_rate_6480b916_idx.sql │ applied, │
│                                                                                                           │ then     │
│                                                                                                           │ reverted │
│ 20261207033725_add_performance_indexes_commands_commandtemplate_is_active_name_idx.sql                    │ applied, │
│                                                                                                           │ then     │
│                                                                                                           │ reverted │
│ 20261207033726_add_performance_indexes_commands_commandtemplate_is_active_usage_count_idx.sql             │ applied, │
│                                                                                                           │ then     │
│                                                                                                           │ reverted │
│ 20261207033727_add_performance_indexes_commands_commandtemplate_recommended_agent_id_name_idx.sql         │ applied, │
│                                                                                                           │ then     │
│                                                                                                           │ reverted │
│ 20261207033728_add_performance_indexes_commands_commandtemplate_usage_count_where_is_active_idx.sql       │ applied, │
│                                                                                                           │ then     │
│                                                                                                           │ reverted │
│ 20261207033729_add_performance_indexes_workflows_workflowexecution_started_at_idx.sql                     │ applied, │
│                                                                                                           │ then     │
│                                                                                                           │ reverted │
│ 20261207033730_add_performance_indexes_workflows_workflowexecution_workflow_id_status_started_at_idx.sql  │ applied, │
│                                                                                                           │ then     │
│                                                                                                           │ reverted │
│ 20261207033731_add_performance_indexes_workflows_workflowstep_execution_id_status_idx.sql                 │ applied, │
│                                                                                                           │ then     │
│                                                                                                           │ reverted │
└───────────────────────────────────────────────────────────────────────────────────────────────────────────┴──────────┘

┌────────────────────────────────────┬───────┬───────┬───────┬───────┬───────┬───────────┬──────────────┬──────────────────┐
│ statement                          │ calls │ p50   │ p95   │ p99   │ mean  │ rows/call │ buffers/call │ plan             │
│                                    │       │ ms    │ ms    │ ms    │ ms    │           │              │                  │
├────────────────────────────────────┼───────┼───────┼───────┼───────┼───────┼───────────┼──────────────┼──────────────────┤
│ command_templates_list_after       │    20 │ 0.108 │ 1.348 │ 1.452 │ 0.232 │      20.0 │         62.0 │ 39845374a6616e65 │
│ command_templates_by_category      │    20 │ 0.353 │ 2.539 │ 3.667 │ 0.520 │      19.4 │         39.0 │ 5f7a046358eaac2f │
│ popular_commands                   │    20 │ 0.086 │ 0.141 │ 0.145 │ 0.092 │      10.0 │         40.0 │ 2a0d82a5e77f343f │
│ command_templates_for_agent        │    20 │ 0.113 │ 0.375 │ 0.408 │ 0.125 │      14.8 │         24.7 │ 73d1e15410ad09d5 │
│ agents_by_status                   │    20 │ 0.096 │ 0.815 │ 1.139 │ 0.152 │      18.2 │          9.0 │ 786f9a27b0547faf │
│ agents_by_platform                 │    20 │ 0.073 │ 1.022 │ 1.321 │ 0.165 │      12.8 │          9.0 │ 786f9a27b0547faf │
│ agent_executions_of_user           │    20 │ 0.162 │ 4.118 │ 4.700 │ 0.774 │      13.9 │        255.8 │ 40be6e2894d2184a │
│ agent_executions_by_platform       │    20 │ 0.113 │ 0.198 │ 0.204 │ 0.127 │      20.0 │          7.0 │ 627222e97d3d2c59 │
│ workflows_of_user                  │    20 │ 0.052 │ 0.445 │ 0.577 │ 0.095 │       6.1 │         12.4 │ 836b39cf2deae80d │
│ workflow_templates                 │    20 │ 0.111 │ 0.185 │ 0.216 │ 0.115 │      26.0 │         43.0 │ ad607f78cf40c0ff │
│ workflow_executions_by_status      │    20 │ 0.132 │ 2.623 │ 3.106 │ 0.424 │      15.2 │         80.5 │ d4d7b2a4779e3ecf │
│ workflow_steps_of_execution        │    20 │ 0.059 │ 0.152 │ 0.153 │ 0.074 │       9.0 │          3.1 │ 38e68fb73771ab60 │
│ workflow_step_count_by_status      │    20 │ 0.038 │ 0.951 │ 1.412 │ 0.111 │       1.0 │          3.0 │ f35d83679e7bd002 │
│ dashboard_agent_execution_stats    │    20 │ 0.087 │ 0.697 │ 0.723 │ 0.178 │       4.3 │          8.7 │ 6e7192963391ee5a │
│ dashboard_active_agents            │    20 │ 0.031 │ 0.069 │ 0.073 │ 0.038 │       1.0 │          2.0 │ f43de9d9a25a182a │
│ dashboard_workflow_execution_stats │    20 │ 0.167 │ 2.309 │ 2.986 │ 0.360 │       5.0 │          6.0 │ 820519a80ea5f25c │
│ ↳ command_templates_count          │    20 │ 0.054 │ 0.833 │ 1.241 │ 0.116 │       1.0 │          4.0 │ 17959521638a04ed │
└────────────────────────────────────┴───────┴───────┴───────┴───────┴───────┴───────────┴──────────────┴──────────────────┘

┌───────┬────────────────────────────────────────────────────────────────┬─────────┬────────────────────────────────────────────────┬──────────────┐
│ what  │ name                                                           │ before  │ after                                          │ makes        │
│       │                                                                │         │                                                │ inconclusive │
├───────┼────────────────────────────────────────────────────────────────┼─────────┼────────────────────────────────────────────────┼──────────────┤
│ index │ agents_agent_status_total_invocations_idx                      │ missing │ CREATE INDEX                                   │ no           │
│       │                                                                │         │ agents_agent_status_total_invocations_idx ON   │              │
│       │                                                                │         │ public.agents_agent USING btree (status,       │              │
│       │                                                                │         │ total_invocations DESC)                        │              │
│ index │ agents_agentexecution_platform_used_created_at_idx             │ missing │ CREATE INDEX                                   │ no           │
│       │                                                                │         │ agents_agentexecution_platform_used_created_at │              │
│       │                                                                │         │ _idx ON public.agents_agentexecution USING     │              │
│       │                                                                │         │ btree (platform_used, created_at DESC)         │              │
│ index │ agents_agentexecution_user_id_status_created_at_idx            │ missing │ CREATE INDEX                                   │ no           │
│       │                                                                │         │ agents_agentexecution_user_id_status_created_a │              │
│       │                                                                │         │ t_idx ON public.agents_agentexecution USING    │              │
│       │                                                                │         │ btree (user_id, status, created_at DESC)       │              │
│       │                                                                │         │ INCLUDE (id)                                   │              │
│ index │ commands_commandtemplate_category_id_success_rate_6480b916_idx │ missing │ CREATE INDEX                                   │ no           │
│       │                                                                │         │ commands_commandtemplate_category_id_success_r │              │
│       │                                                                │         │ ate_6480b916_idx ON                            │              │
│       │                                                                │         │ public.commands_commandtemplate USING btree    │              │
│       │                                                                │         │ (category_id, success_rate DESC) WHERE         │              │
│       │                                                                │         │ is_active                                      │              │
│ index │ commands_commandtemplate_is_active_name_idx                    │ missing │ CREATE INDEX                                   │ no           │
│       │                                                                │         │ commands_commandtemplate_is_active_name_idx ON │              │
│       │                                                                │         │ public.commands_commandtemplate USING btree    │              │
│       │                                                                │         │ (is_active, name)                              │              │
│ index │ commands_commandtemplate_is_active_usage_count_idx             │ missing │ CREATE INDEX                                   │ no           │
│       │                                                                │         │ commands_commandtemplate_is_active_usage_count │              │
│       │                                                                │         │ _idx ON public.commands_commandtemplate USING  │              │
│       │                                                                │         │ btree (is_active, usage_count DESC)            │              │
│ index │ commands_commandtemplate_recommended_agent_id_name_idx         │ missing │ CREATE INDEX                                   │ no           │
│       │                                                                │         │ commands_commandtemplate_recommended_agent_id_ │              │
│       │                                                                │         │ name_idx ON public.commands_commandtemplate    │              │
│       │                                                                │         │ USING btree (recommended_agent_id, name)       │              │
│ index │ commands_commandtemplate_usage_count_where_is_active_idx       │ missing │ CREATE INDEX                                   │ no           │
│       │                                                                │         │ commands_commandtemplate_usage_count_where_is_ │              │
│       │                                                                │         │ active_idx ON public.commands_commandtemplate  │              │
│       │                                                                │         │ USING btree (usage_count DESC) WHERE is_active │              │
│ index │ workflows_workflowexecution_started_at_idx                     │ missing │ CREATE INDEX                                   │ no           │
│       │                                                                │         │ workflows_workflowexecution_started_at_idx ON  │              │
│       │                                                                │         │ public.workflows_workflowexecution USING btree │              │
│       │                                                                │         │ (started_at) INCLUDE (id, status)              │              │
│ index │ workflows_workflowexecution_workflow_id_status_started_at_idx  │ missing │ CREATE INDEX                                   │ no           │
│       │                                                                │         │ workflows_workflowexecution_workflow_id_status │              │
│       │                                                                │         │ _started_at_idx ON                             │              │
│       │                                                                │         │ public.workflows_workflowexecution USING btree │              │
│       │                                                                │         │ (workflow_id, status, started_at DESC)         │              │
│ index │ workflows_workflowstep_execution_id_status_idx                 │ missing │ CREATE INDEX                                   │ no           │
│       │                                                                │         │ workflows_workflowstep_execution_id_status_idx │              │
│       │                                                                │         │ ON public.workflows_workflowstep USING btree   │              │
│       │                                                                │         │ (execution_id, status)                         │              │
└───────┴────────────────────────────────────────────────────────────────┴─────────┴────────────────────────────────────────────────┴──────────────┘

┌────────────────────────────────────┬────────┬───────┬────────┬─────────┬────────┬──────────────┬─────────┬──────────────┬──────────┐
│ statement                          │ before │ after │ change │ 95% CI  │ p      │ buffers/call │ plan    │ verdict      │ vs       │
│                                    │ p50    │ p50   │        │         │        │              │         │              │ promised │
│                                    │        │       │        │         │        │              │         │              │ 40–60%   │
├────────────────────────────────────┼────────┼───────┼────────┼─────────┼────────┼──────────────┼─────────┼──────────────┼──────────┤
│ command_templates_list_after       │  0.909 │ 0.108 │ -88.1% │ -97.0%  │ <0.001 │ 92.0 → 62.0  │ changed │ improved     │ -        │
│                                    │        │       │        │ to      │        │ (-33%)       │         │              │          │
│                                    │        │       │        │ -77.7%  │        │              │         │              │          │
│ command_templates_by_category      │  0.340 │ 0.353 │  +4.0% │ -61.8%  │  0.779 │ 58.0 → 39.0  │ changed │ improved     │ -        │
│                                    │        │       │        │ to      │        │ (-33%)       │         │              │          │
│                                    │        │       │        │ +46.0%  │        │              │         │              │          │
│ popular_commands *                 │  1.387 │ 0.086 │ -93.8% │ -98.0%  │ <0.001 │ 92.0 → 40.0  │ changed │ improved     │ 94%      │
│                                    │        │       │        │ to      │        │ (-57%)       │         │              │ faster:  │
│                                    │        │       │        │ -87.7%  │        │              │         │              │ above    │
│ command_templates_for_agent        │  0.236 │ 0.113 │ -52.3% │ -97.6%  │  0.007 │ 24.7 → 24.7  │ same    │ inconclusive │ -        │
│                                    │        │       │        │ to      │        │ (+0%)        │         │              │          │
│                                    │        │       │        │ +39.9%  │        │              │         │              │          │
│ agents_by_status *                 │  0.772 │ 0.096 │ -87.5% │ -98.6%  │ <0.001 │ 9.0 → 9.0    │ changed │ improved     │ 88%      │
│                                    │        │       │        │ to      │        │ (+0%)        │         │              │ faster:  │
│                                    │        │       │        │ -36.9%  │        │              │         │              │ above    │
│ agents_by_platform                 │  0.125 │ 0.073 │ -41.4% │ -72.0%  │ <0.001 │ 9.0 → 9.0    │ changed │ inconclusive │ -        │
│                                    │        │       │        │ to      │        │ (+0%)        │         │              │          │
│                                    │        │       │        │ -8.8%   │        │              │         │              │          │
│ agent_executions_of_user *         │  0.769 │ 0.162 │ -79.0% │ -99.6%  │  0.009 │ 348.3 →      │ changed │ improved     │ 79%      │
│                                    │        │       │        │ to      │        │ 255.8 (-27%) │         │              │ faster:  │
│                                    │        │       │        │ +860.2% │        │              │         │              │ above    │
│ agent_executions_by_platform *     │ 30.623 │ 0.113 │ -99.6% │ -99.8%  │ <0.001 │ 1330.0 → 7.0 │ changed │ improved     │ 100%     │
│                                    │        │       │        │ to      │        │ (-99%)       │         │              │ faster:  │
│                                    │        │       │        │ -99.3%  │        │              │         │              │ above    │
│ workflows_of_user                  │  0.153 │ 0.052 │ -65.7% │ -99.0%  │ <0.001 │ 12.4 → 12.4  │ same    │ inconclusive │ -        │
│                                    │        │       │        │ to      │        │ (+0%)        │         │              │          │
│                                    │        │       │        │ +59.3%  │        │              │         │              │          │
│ workflow_templates                 │  0.299 │ 0.111 │ -62.9% │ -96.0%  │ <0.001 │ 43.0 → 43.0  │ same    │ inconclusive │ -        │
│                                    │        │       │        │ to      │        │ (+0%)        │         │              │          │
│                                    │        │       │        │ -42.6%  │        │              │         │              │          │
│ workflow_executions_by_status *    │  0.991 │ 0.132 │ -86.7% │ -97.6%  │  0.001 │ 133.7 → 80.5 │ changed │ improved     │ 87%      │
│                                    │        │       │        │ to      │        │ (-40%)       │         │              │ faster:  │
│                                    │        │       │        │ +142.3% │        │              │         │              │ above    │
│ workflow_steps_of_execution        │  0.092 │ 0.059 │ -36.3% │ -97.8%  │  0.002 │ 3.1 → 3.1    │ same    │ inconclusive │ -        │
│                                    │        │       │        │ to      │        │ (+0%)        │         │              │          │
│                                    │        │       │        │ +32.0%  │        │              │         │              │          │
│ workflow_step_count_by_status *    │  0.066 │ 0.038 │ -42.7% │ -96.2%  │ <0.001 │ 3.4 → 3.0    │ changed │ improved     │ 43%      │
│                                    │        │       │        │ to      │        │ (-10%)       │         │              │ faster:  │
│                                    │        │       │        │ +38.3%  │        │              │         │              │ within   │
│ dashboard_agent_execution_stats *  │  2.457 │ 0.087 │ -96.5% │ -99.4%  │ <0.001 │ 471.9 → 8.7  │ changed │ improved     │ 96%      │
│                                    │        │       │        │ to      │        │ (-98%)       │         │              │ faster:  │
│                                    │        │       │        │ -36.8%  │        │              │         │              │ above    │
│ dashboard_active_agents *          │  0.312 │ 0.031 │ -90.1% │ -97.8%  │ <0.001 │ 9.0 → 2.0    │ changed │ improved     │ 90%      │
│                                    │        │       │        │ to      │        │ (-78%)       │         │              │ faster:  │
│                                    │        │       │        │ -35.9%  │        │              │         │              │ above    │
│ dashboard_workflow_execution_stats │  3.041 │ 0.167 │ -94.5% │ -98.0%  │ <0.001 │ 376.0 → 6.0  │ changed │ improved     │ -        │
│                                    │        │       │        │ to      │        │ (-98%)       │         │              │          │
│                                    │        │       │        │ -86.2%  │        │              │         │              │          │
│ command_templates_count            │  1.098 │ 0.054 │ -95.1% │ -98.6%  │ <0.001 │ 82.0 → 4.0   │ changed │ improved     │ -        │
│                                    │        │       │        │ to      │        │ (-95%)       │         │              │          │
│                                    │        │       │        │ -61.4%  │        │              │         │              │          │
└────────────────────────────────────┴────────┴───────┴────────┴─────────┴────────┴──────────────┴─────────┴──────────────┴──────────┘

┌──────────────────────┬─────────────────────────────────┬─────────────────────────────────────────┐
│ gate                 │ statement                       │ result                                  │
├──────────────────────┼─────────────────────────────────┼─────────────────────────────────────────┤
│ --expect 40%         │ agents_by_status                │ median 87.5% faster, at worst 36.9%     │
│                      │                                 │ faster at 95% confidence; buffers per   │
│                      │                                 │ call unchanged (9.0 → 9.0); expected at │
│                      │                                 │ least 40% faster                        │
│ --expect 40%         │ agent_executions_of_user        │ median 79.0% faster, at worst 860.2%    │
│                      │                                 │ slower at 95% confidence; buffers per   │
│                      │                                 │ call 27% fewer (348.3 → 255.8);         │
│                      │                                 │ expected at least 40% faster            │
│ --expect 40%         │ workflow_executions_by_status   │ median 86.7% faster, at worst 142.3%    │
│                      │                                 │ slower at 95% confidence; buffers per   │
│                      │                                 │ call 40% fewer (133.7 → 80.5); expected │
│                      │                                 │ at least 40% faster                     │
│ --expect 40%         │ workflow_step_count_by_status   │ median 42.7% faster, at worst 38.3%     │
│                      │                                 │ slower at 95% confidence; buffers per   │
│                      │                                 │ call 10% fewer (3.4 → 3.0); expected at │
│                      │                                 │ least 40% faster                        │
│ --expect 40%         │ dashboard_agent_execution_stats │ median 96.5% faster, at worst 36.8%     │
│                      │                                 │ faster at 95% confidence; expected at   │
│                      │                                 │ least 40% faster                        │
│ --expect 40%         │ dashboard_active_agents         │ median 90.1% faster, at worst 35.9%     │
│                      │                                 │ faster at 95% confidence; expected at   │
│                      │                                 │ least 40% faster                        │
│ --max-regression 10% │ -                               │ passed (17 statements checked)          │
└──────────────────────┴─────────────────────────────────┴─────────────────────────────────────────┘
