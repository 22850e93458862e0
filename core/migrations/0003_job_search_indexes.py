"""GIN indexes for searching inside jobs on PostgreSQL: tag filters and payload
containment (``tags @> …``, ``payload @> …``) use them. SQLite has no such index
and answers the same filters by scanning; the operation does nothing there.

Built CONCURRENTLY (outside a transaction) so that adding them to a large,
busy job table does not block enqueues and claims while they build."""

from django.db import migrations

INDEXES = {
    "job_tags_gin": "tags",
    "job_payload_gin": "payload",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} "
            f"ON queueadmin_job USING gin ({column} jsonb_path_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("queueadmin", "0002_workers_health")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
