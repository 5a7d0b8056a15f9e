from django.conf import settings
from django.db import models


class Project(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField()
    status = models.CharField(max_length=20)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    tenant = models.ForeignKey("core.Tenant", on_delete=models.CASCADE)


class Task(models.Model):
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=20)
    priority = models.SmallIntegerField()
    due_date = models.DateField(null=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    project = models.ForeignKey(Project, on_delete=models.CASCADE)

    class Meta:
        ordering = ["-created_at"]
