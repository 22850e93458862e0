"""Is the database ready for queueadmin? One line saying what to do when it is not.

``runworker`` asks before it starts and the dashboard asks when a request fails on the
database, so an operator who starts them before ``migrate``, or against a database that
does not exist, reads one sentence naming the database and the command to run instead
of a traceback. Imports Django and ``faults`` only.
"""

from django.core.management.base import CommandError
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from core import faults


def describe(using: str = "default") -> str:
    """The database in words: 'the SQLite file /srv/var/db.sqlite3', 'the PostgreSQL
    database "jobs" on db.example.com:5432'."""
    connection = connections[using]
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"the SQLite file {settings['NAME']}"
    host = settings.get("HOST") or "localhost"
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f'the {connection.display_name} database "{settings["NAME"]}" on {host}{port}'


def database_problem(using: str = "default") -> str | None:
    """None when the database answers and every migration is applied; otherwise one
    sentence naming the database, what is wrong and the command to run."""
    connection = connections[using]
    name = describe(using)
    try:
        connection.ensure_connection()
    except Exception as exc:
        hint = "check DATABASE_URL (or DATABASES) and that the server runs"
        if "does not exist" in str(exc):
            hint = f"create it (createdb {connection.settings_dict['NAME']}), then run migrate"
        return f"cannot connect to {name} ({faults.summary(exc)}): {hint}"
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return f"cannot read the migrations of {name} ({faults.summary(exc)})"
    if plan:
        return (
            f"{name[0].upper()}{name[1:]} is not migrated ({len(plan)} migration(s) to "
            f"apply): run `python manage.py migrate` first"
        )
    return None


def require_database(using: str = "default") -> None:
    """For management commands: raise CommandError with ``database_problem``'s sentence
    when there is one (a missing or unmigrated database), instead of a traceback later."""
    problem = database_problem(using)
    if problem:
        raise CommandError(problem)
