-- The index of the CPU regression (see README.md): it covers the anti-join's
-- inner side, which the planner then reads whole into a hash.
CREATE INDEX agent_exec_status_user_cover_idx ON public.agents_agentexecution (status) INCLUDE (user_id);
