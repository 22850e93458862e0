"""Database drivers: the one place that knows the vendor and holds raw SQL.

``base`` says what every driver provides, ``rows`` the shapes they exchange with
the worker, ``claim`` the claim's phases (shared; the vendors give the SQL),
``tables`` the table names from the models, and one package per database
(``postgres``, ``sqlite``). Imports only the models, ``conf`` and ``exceptions``;
everything above reaches the database through ``get_driver()`` or the ORM.
"""

from functools import cache

from django.db import connections
from django.utils.module_loading import import_string

from core.drivers.base import Driver

#: The driver of each database vendor, imported on first use (so SQLite projects
#: never import psycopg, which only the ``postgres`` extra installs).
DRIVERS = {
    "postgresql": "core.drivers.postgres.PostgresDriver",
    "sqlite": "core.drivers.sqlite.SQLiteDriver",
}


@cache
def driver_class(vendor: str) -> type[Driver]:
    """The Driver subclass for a Django database vendor."""
    try:
        return import_string(DRIVERS[vendor])
    except KeyError:
        raise NotImplementedError(
            f"queueadmin supports PostgreSQL and SQLite, not {vendor!r}"
        ) from None


def get_driver(using: str = "default") -> Driver:
    """Return the driver for the database alias ``using``."""
    return driver_class(connections[using].vendor)(using)


__all__ = ["Driver", "get_driver"]
