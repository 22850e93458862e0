"""Database drivers: the one place that knows the vendor and holds raw SQL.

``base`` says what every driver provides, ``rows`` the shapes they exchange with
the worker, ``claim`` the claim's phases (shared; the vendors give the SQL),
``tables`` the table names from the models, and one package per database
(``postgres``, ``sqlite``). Imports only the models, ``conf`` and ``exceptions``;
everything above reaches the database through ``get_driver()`` or the ORM.
"""

from django.db import connections

from core.drivers.base import Driver
from core.drivers.postgres import PostgresDriver
from core.drivers.sqlite import SQLiteDriver

_DRIVERS: dict[str, type[Driver]] = {
    "postgresql": PostgresDriver,
    "sqlite": SQLiteDriver,
}


def get_driver(using: str = "default") -> Driver:
    """Return the driver for the database alias ``using``."""
    vendor = connections[using].vendor
    try:
        return _DRIVERS[vendor](using)
    except KeyError:
        raise NotImplementedError(
            f"queueadmin supports PostgreSQL and SQLite, not {vendor!r}"
        ) from None


__all__ = ["Driver", "get_driver"]
