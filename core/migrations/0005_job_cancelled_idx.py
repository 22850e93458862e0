"""job_cancelled_idx: pruning walks cancelled jobs by cancelled_at, as it walks
completed and failed ones by their time. Built concurrently on PostgreSQL."""

from django.db import migrations, models

from core.migrations._concurrent import add_index


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("queueadmin", "0004_job_stats")]

    operations = [
        add_index(
            models.Index(
                condition=models.Q(cancelled_at__isnull=False),
                fields=["cancelled_at"],
                name="job_cancelled_idx",
            ),
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS job_cancelled_idx "
            "ON queueadmin_job (cancelled_at) WHERE cancelled_at IS NOT NULL",
        )
    ]
