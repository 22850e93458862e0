"""The tag index holds tagged jobs only. Most jobs have no tags, and each of them put
an entry for its empty list in job_tags_gin on enqueue and again on every status
change (each of which writes a new row version into every index of the job table).
job_tagged_gin is the same GIN index without those entries; the tag filters say
``tags <> '[]'`` beside their ``@>`` so that the planner can use it.

Built CONCURRENTLY before the old index is dropped, so tag filters keep an index and
a large, busy table keeps taking enqueues and claims; SQLite has no such index and the
operation does nothing there."""

from django.db import migrations

TAGGED = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS job_tagged_gin ON queueadmin_job "
    "USING gin (tags jsonb_path_ops) WHERE tags <> '[]'::jsonb"
)
ALL = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS job_tags_gin ON queueadmin_job "
    "USING gin (tags jsonb_path_ops)"
)


def _swap(create: str, drop: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(create)
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {drop}")

    return run


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("queueadmin", "0009_waittoken_one_job_index")]

    operations = [
        migrations.RunPython(
            _swap(TAGGED, "job_tags_gin"), _swap(ALL, "job_tagged_gin"), elidable=False
        )
    ]
