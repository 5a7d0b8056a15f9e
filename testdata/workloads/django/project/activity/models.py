from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models


# The class is Log, its table the activity log's: Django's default table
# for it would be activity_log.
class Log(models.Model):
    verb = models.CharField(max_length=50)
    target_object_id = models.CharField(max_length=255)
    data = models.JSONField()
    created_at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    target_content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    tenant = models.ForeignKey("core.Tenant", on_delete=models.CASCADE)

    class Meta:
        db_table = "activity_activitylog"
