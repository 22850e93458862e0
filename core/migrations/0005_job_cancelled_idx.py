"""job_cancelled_idx: pruning walks cancelled jobs by cancelled_at, as it walks
completed and failed ones by their time. Built CONCURRENTLY on PostgreSQL (outside a
transaction) so a large, busy job table keeps taking enqueues and claims meanwhile."""

from django.db import migrations, models

INDEX = models.Index(
    condition=models.Q(cancelled_at__isnull=False),
    fields=["cancelled_at"],
    name="job_cancelled_idx",
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS job_cancelled_idx "
            "ON queueadmin_job (cancelled_at) WHERE cancelled_at IS NOT NULL"
        )
    else:
        schema_editor.add_index(apps.get_model("queueadmin", "Job"), INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS job_cancelled_idx")
    else:
        schema_editor.remove_index(apps.get_model("queueadmin", "Job"), INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("queueadmin", "0004_job_stats")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="job", index=INDEX)],
            database_operations=[migrations.RunPython(create, drop, elidable=False)],
        )
    ]
