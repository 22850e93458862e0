"""An index added to the job table without blocking it: CREATE INDEX CONCURRENTLY on
PostgreSQL (so a large, busy table keeps taking enqueues and claims while it builds;
the migration must be ``atomic = False``), the schema editor's own on SQLite. Django's
migration loader skips this module (its name starts with an underscore)."""

from django.db import migrations, models


def add_index(index: models.Index, create_sql: str) -> migrations.SeparateDatabaseAndState:
    """The operation adding ``index`` to the job model; ``create_sql`` builds it on
    PostgreSQL (``CREATE INDEX CONCURRENTLY IF NOT EXISTS …``)."""

    def create(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(create_sql)
        else:
            schema_editor.add_index(apps.get_model("queueadmin", "Job"), index)

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index.name}")
        else:
            schema_editor.remove_index(apps.get_model("queueadmin", "Job"), index)

    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AddIndex(model_name="job", index=index)],
        database_operations=[migrations.RunPython(create, drop, elidable=False)],
    )
