"""job_created_idx: job lists filtered by creation time read newest first by
(created_at, id) instead of walking ids past every job outside the range
(core.insights.ordering). Built concurrently on PostgreSQL."""

from django.db import migrations, models

from core.migrations._concurrent import add_index


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("queueadmin", "0006_job_lock_message_type_body")]

    operations = [
        add_index(
            models.Index(fields=["created_at", "id"], name="job_created_idx"),
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS job_created_idx "
            "ON queueadmin_job (created_at, id)",
        )
    ]
