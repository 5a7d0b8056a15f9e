-- The hand-written ideal index set for the Django project's workload
-- (workload.sql in the proportions of traffic.sql). README.md says why.
CREATE INDEX ON auth_user (upper(email::text));
CREATE INDEX ON activity_activitylog (tenant_id, created_at);
CREATE INDEX ON activity_activitylog (target_content_type_id, target_object_id);
CREATE INDEX ON projects_task (project_id, due_date);
