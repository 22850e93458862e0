"""Databases made before the app's label became ``queueadmin``.

Until then the tables were ``core_job``, ``core_jobevent``… and the migrations
were recorded under the app ``core``. No release carried those names, so they
are not migrated: ``migrate`` stops with one sentence saying what to do, instead
of a traceback about an index that exists already.
"""

from django.core.management.base import CommandError
from django.db import connections

#: Tables only queueadmin's pre-release migrations created (together).
LEGACY_TABLES = frozenset({"core_job", "core_jobevent", "core_waittoken", "core_cronschedule"})
#: Migrations those releases recorded for the app ``core``.
LEGACY_MIGRATIONS = frozenset({"0001_initial", "0004_durable", "0005_cron_schedules"})


def legacy_tables(using: str = "default") -> list[str]:
    """The pre-release queueadmin tables in this database (empty when there are none)."""
    connection = connections[using]
    tables = set(connection.introspection.table_names())
    if not tables >= LEGACY_TABLES or "django_migrations" not in tables:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM django_migrations WHERE app = %s", ["core"])
        recorded = {row[0] for row in cursor.fetchall()}
    if not recorded >= LEGACY_MIGRATIONS:
        return []  # another app labelled "core" made these tables
    return sorted(name for name in tables if name.startswith("core_"))


def refuse_legacy_tables(sender, using: str = "default", **kwargs) -> None:
    """pre_migrate: stop ``migrate`` with what to do when the database is pre-release."""
    found = legacy_tables(using)
    if not found:
        return
    settings = connections[using].settings_dict
    if connections[using].vendor == "sqlite":
        fix = f"delete the file {settings['NAME']} (or point DATABASE_URL at a new one)"
    else:
        fix = f"drop the {len(found)} core_* tables and the app 'core' rows of django_migrations"
    raise CommandError(
        f"This database was made by a pre-release queueadmin whose tables "
        f"({', '.join(found[:3])}, …) cannot be migrated to the queueadmin_* names; "
        f"{fix} and migrate again."
    )
