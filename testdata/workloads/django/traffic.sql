-- The Django project's traffic: workload.sql's statements sent as top-level
-- statements with other values, in the proportions the application sends
-- them (per 1,000 requests: 300 session loads, 250 request.user, ...).
--
--   psql -v scale=1 -v requests=1000 -f traffic.sql
--
-- requests is how many application requests to send (1,000 by default).
-- Afterwards pg_stat_statements holds the workload as users have it. The
-- values are drawn with a fixed seed; close_task changes data.

\set ON_ERROR_STOP on
\if :{?scale}
\else
  \set scale 1
\endif
\if :{?requests}
\else
  \set requests 1000
\endif
\set users (20000 * :scale)
\set projects (20000 * :scale)
\set tasks (200000 * :scale)

SELECT setseed(0.31) AS seeded \gset
\pset tuples_only on
\o /dev/null

SELECT format('SELECT "django_session"."session_key", "django_session"."session_data", "django_session"."expire_date" FROM "django_session" WHERE ("django_session"."expire_date" > %L::timestamptz AND "django_session"."session_key" = %L) LIMIT 21',
              '2026-12-01T10:00:00+00:00', md5('s' || (1 + floor(:users * random())::int)))
FROM generate_series(1, :requests * 300 / 1000) \gexec

SELECT format('SELECT "auth_user"."id", "auth_user"."password", "auth_user"."last_login", "auth_user"."is_superuser", "auth_user"."username", "auth_user"."first_name", "auth_user"."last_name", "auth_user"."email", "auth_user"."is_staff", "auth_user"."is_active", "auth_user"."date_joined" FROM "auth_user" WHERE "auth_user"."id" = %s LIMIT 21',
              1 + floor(:users * random())::int)
FROM generate_series(1, :requests * 250 / 1000) \gexec

SELECT format('SELECT "auth_user"."id", "auth_user"."password", "auth_user"."last_login", "auth_user"."is_superuser", "auth_user"."username", "auth_user"."first_name", "auth_user"."last_name", "auth_user"."email", "auth_user"."is_staff", "auth_user"."is_active", "auth_user"."date_joined" FROM "auth_user" WHERE UPPER("auth_user"."email"::text) = UPPER(%L) LIMIT 21',
              CASE WHEN g % 2 = 0 THEN lower(email) ELSE email END)
FROM (SELECT email, row_number() OVER () AS g FROM auth_user
      WHERE id IN (SELECT 1 + floor(:users * random())::int FROM generate_series(1, :requests * 40 / 1000))) u \gexec

SELECT format('SELECT "activity_activitylog"."id", "activity_activitylog"."verb", "activity_activitylog"."target_object_id", "activity_activitylog"."data", "activity_activitylog"."created_at", "activity_activitylog"."actor_id", "activity_activitylog"."target_content_type_id", "activity_activitylog"."tenant_id" FROM "activity_activitylog" WHERE ("activity_activitylog"."tenant_id" = %s AND "activity_activitylog"."created_at" >= (now() - interval ''7 days'')) ORDER BY "activity_activitylog"."created_at" DESC LIMIT 21',
              t) || E'\n;\n' ||
       format('SELECT COUNT(*) AS "__count" FROM "activity_activitylog" WHERE ("activity_activitylog"."tenant_id" = %s AND "activity_activitylog"."created_at" >= (now() - interval ''7 days''))', t)
FROM (SELECT 1 + floor(50 * power(random(), 2.5))::int AS t FROM generate_series(1, :requests * 80 / 1000)) s \gexec

SELECT format('SELECT "activity_activitylog"."id", "activity_activitylog"."verb", "activity_activitylog"."target_object_id", "activity_activitylog"."created_at", "activity_activitylog"."actor_id", "activity_activitylog"."target_content_type_id" FROM "activity_activitylog" WHERE ("activity_activitylog"."target_content_type_id" = 9 AND "activity_activitylog"."target_object_id" IN (%s))',
              (SELECT string_agg(quote_literal(k::text), ', ') FROM generate_series(s, s + 24) k))
FROM (SELECT 1 + floor(:tasks * random())::int AS s FROM generate_series(1, :requests * 60 / 1000)) s \gexec

SELECT format('SELECT "projects_task"."id", "projects_task"."title", "projects_task"."status", "projects_task"."priority", "projects_task"."due_date", "projects_task"."created_at", "projects_task"."assignee_id" FROM "projects_task" WHERE ("projects_task"."project_id" = %s AND "projects_task"."status" = %L) ORDER BY "projects_task"."created_at" DESC LIMIT 25', p, st) || E'\n;\n' ||
       format('SELECT COUNT(*) AS "__count" FROM "projects_task" WHERE ("projects_task"."project_id" = %s AND "projects_task"."status" = %L)', p, st)
FROM (SELECT 1 + floor(:projects * power(random(), 1.5))::int AS p, (ARRAY['open', 'open', 'in_progress', 'blocked'])[1 + floor(random() * 4)::int] AS st
      FROM generate_series(1, :requests * 60 / 1000)) s \gexec

SELECT format('SELECT "auth_user"."id", "auth_user"."username", "auth_user"."first_name", "auth_user"."last_name", "auth_user"."email" FROM "auth_user" WHERE "auth_user"."id" IN (%s)',
              (SELECT string_agg((1 + floor(:users * random())::int)::text, ', ') FROM generate_series(1, 3 + g % 20)))
FROM generate_series(1, :requests * 60 / 1000) g \gexec

SELECT format('SELECT "projects_project"."id", "projects_project"."name", "projects_project"."status", "projects_project"."updated_at" FROM "projects_project" WHERE ("projects_project"."tenant_id" = %s AND UPPER("projects_project"."name"::text) LIKE UPPER(%L)) ORDER BY "projects_project"."updated_at" DESC LIMIT 21',
              1 + floor(50 * power(random(), 2.5))::int, '%' || (ARRAY['rio', 'pol', 'ega', 'yra', 'ury', 'tla'])[1 + floor(random() * 6)::int] || '%')
FROM generate_series(1, :requests * 20 / 1000) \gexec

SELECT format('SELECT "auth_user"."id", "auth_user"."username" FROM "auth_user" WHERE UPPER("auth_user"."username"::text) LIKE UPPER(%L) ORDER BY "auth_user"."username" ASC LIMIT 10',
              'User' || (10 + floor(random() * 990)::int) || '%')
FROM generate_series(1, :requests * 20 / 1000) \gexec

SELECT format('UPDATE "projects_task" SET "status" = ''done'', "updated_at" = %L::timestamptz WHERE "projects_task"."id" = %s',
              '2026-12-01T10:00:00+00:00', 1 + floor(:tasks * random())::int)
FROM generate_series(1, :requests * 30 / 1000) \gexec

SELECT format('SELECT "projects_task"."id", "projects_task"."title", "projects_task"."due_date", "projects_project"."name" FROM "projects_task" INNER JOIN "projects_project" ON ("projects_task"."project_id" = "projects_project"."id") WHERE ("projects_project"."tenant_id" = %s AND "projects_task"."due_date" < %L::date AND NOT ("projects_task"."status" = ''done'')) ORDER BY "projects_task"."due_date" ASC LIMIT 21',
              1 + floor(50 * power(random(), 2.5))::int, '2026-12-01')
FROM generate_series(1, :requests * 10 / 1000) \gexec

\o
