-- The Django project's statements as the ORM writes them (Django 4/5 on
-- PostgreSQL): quoted, table-qualified columns; get() with LIMIT 21;
-- iexact/icontains/istartswith as UPPER(col::text); the paginator's COUNT;
-- prefetch_related's IN lists. One example of each, with its weight: how
-- many times in 1,000 requests the application sends it; traffic.sql sends
-- them in those proportions with other values.

-- name: login_iexact
-- weight: 40
-- User.objects.get(email__iexact=email)
SELECT "auth_user"."id", "auth_user"."password", "auth_user"."last_login", "auth_user"."is_superuser", "auth_user"."username", "auth_user"."first_name", "auth_user"."last_name", "auth_user"."email", "auth_user"."is_staff", "auth_user"."is_active", "auth_user"."date_joined" FROM "auth_user" WHERE UPPER("auth_user"."email"::text) = UPPER('Ann.Lee4242@Corp.example') LIMIT 21;

-- name: session
-- weight: 300
-- SessionStore.load()
SELECT "django_session"."session_key", "django_session"."session_data", "django_session"."expire_date" FROM "django_session" WHERE ("django_session"."expire_date" > '2026-12-01T10:00:00+00:00'::timestamptz AND "django_session"."session_key" = '3c59dc048e8850243be8079a5c74d079') LIMIT 21;

-- name: user_by_pk
-- weight: 250
-- request.user
SELECT "auth_user"."id", "auth_user"."password", "auth_user"."last_login", "auth_user"."is_superuser", "auth_user"."username", "auth_user"."first_name", "auth_user"."last_name", "auth_user"."email", "auth_user"."is_staff", "auth_user"."is_active", "auth_user"."date_joined" FROM "auth_user" WHERE "auth_user"."id" = 4242 LIMIT 21;

-- name: tenant_feed
-- weight: 80
-- ActivityLog.objects.filter(tenant=t, created_at__gte=Now() - timedelta(days=7)).order_by("-created_at")[:21]
SELECT "activity_activitylog"."id", "activity_activitylog"."verb", "activity_activitylog"."target_object_id", "activity_activitylog"."data", "activity_activitylog"."created_at", "activity_activitylog"."actor_id", "activity_activitylog"."target_content_type_id", "activity_activitylog"."tenant_id" FROM "activity_activitylog" WHERE ("activity_activitylog"."tenant_id" = 1 AND "activity_activitylog"."created_at" >= (now() - interval '7 days')) ORDER BY "activity_activitylog"."created_at" DESC LIMIT 21;

-- name: tenant_feed_count
-- weight: 80
-- the paginator's count for the same page
SELECT COUNT(*) AS "__count" FROM "activity_activitylog" WHERE ("activity_activitylog"."tenant_id" = 1 AND "activity_activitylog"."created_at" >= (now() - interval '7 days'));

-- name: activity_of_tasks
-- weight: 60
-- prefetch_related("activity") on a page of tasks: a GenericRelation
SELECT "activity_activitylog"."id", "activity_activitylog"."verb", "activity_activitylog"."target_object_id", "activity_activitylog"."created_at", "activity_activitylog"."actor_id", "activity_activitylog"."target_content_type_id" FROM "activity_activitylog" WHERE ("activity_activitylog"."target_content_type_id" = 9 AND "activity_activitylog"."target_object_id" IN ('101', '102', '103', '104', '105', '106', '107', '108', '109', '110', '111', '112', '113', '114', '115', '116', '117', '118', '119', '120', '121', '122', '123', '124', '125'));

-- name: tasks_of_project
-- weight: 60
-- Task.objects.filter(project=p, status="open").order_by("-created_at"), paginated by 25
SELECT "projects_task"."id", "projects_task"."title", "projects_task"."status", "projects_task"."priority", "projects_task"."due_date", "projects_task"."created_at", "projects_task"."assignee_id" FROM "projects_task" WHERE ("projects_task"."project_id" = 4242 AND "projects_task"."status" = 'open') ORDER BY "projects_task"."created_at" DESC LIMIT 25;

-- name: tasks_of_project_count
-- weight: 60
SELECT COUNT(*) AS "__count" FROM "projects_task" WHERE ("projects_task"."project_id" = 4242 AND "projects_task"."status" = 'open');

-- name: assignees_of_tasks
-- weight: 60
-- prefetch_related("assignee") (a ForeignKey: Django indexed it)
SELECT "auth_user"."id", "auth_user"."username", "auth_user"."first_name", "auth_user"."last_name", "auth_user"."email" FROM "auth_user" WHERE "auth_user"."id" IN (11, 27, 301, 4242, 5150, 9001, 12345);

-- name: project_search
-- weight: 20
-- Project.objects.filter(tenant=t, name__icontains=q): no B-tree index helps
SELECT "projects_project"."id", "projects_project"."name", "projects_project"."status", "projects_project"."updated_at" FROM "projects_project" WHERE ("projects_project"."tenant_id" = 3 AND UPPER("projects_project"."name"::text) LIKE UPPER('%rio%')) ORDER BY "projects_project"."updated_at" DESC LIMIT 21;

-- name: username_autocomplete
-- weight: 20
-- User.objects.filter(username__istartswith=q)[:10]
SELECT "auth_user"."id", "auth_user"."username" FROM "auth_user" WHERE UPPER("auth_user"."username"::text) LIKE UPPER('user123%') ORDER BY "auth_user"."username" ASC LIMIT 10;

-- name: close_task
-- weight: 30
-- task.save(update_fields=["status", "updated_at"])
UPDATE "projects_task" SET "status" = 'done', "updated_at" = '2026-12-01T10:00:00+00:00'::timestamptz WHERE "projects_task"."id" = 123456;

-- name: overdue_tasks_of_tenant
-- weight: 10
SELECT "projects_task"."id", "projects_task"."title", "projects_task"."due_date", "projects_project"."name" FROM "projects_task" INNER JOIN "projects_project" ON ("projects_task"."project_id" = "projects_project"."id") WHERE ("projects_project"."tenant_id" = 30 AND "projects_task"."due_date" < '2026-12-01'::date AND NOT ("projects_task"."status" = 'done')) ORDER BY "projects_task"."due_date" ASC LIMIT 21;
