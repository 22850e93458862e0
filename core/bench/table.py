"""The benchmarks' result table: the database line, then one aligned line per metric."""

import os
import sqlite3

from django.db import connection


def server() -> tuple[str, str]:
    """The database vendor and its server version, e.g. ("postgresql", "PostgreSQL 15.4")."""
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        version = connection.pg_version
        return connection.vendor, f"PostgreSQL {version // 10000}.{version % 100}"
    if connection.vendor == "sqlite":
        return connection.vendor, f"SQLite {sqlite3.sqlite_version}"
    return connection.vendor, connection.vendor


def write_table(stdout, title: str, rows: list[tuple[str, str, str]]) -> None:
    """The database line, then one aligned line per (metric, value, extra) row."""
    vendor, version = server()
    stdout.write(f"{title} on {vendor} ({version}) — {os.cpu_count()} cores")
    metric = max(len("metric"), *(len(row[0]) for row in rows))
    value = max(len("value"), *(len(row[1]) for row in rows))
    stdout.write(f"{'metric':<{metric}} value")
    for name, result, extra in rows:
        line = (
            f"{name:<{metric}} {result:<{value}}   {extra}"
            if extra
            else f"{name:<{metric}} {result}"
        )
        stdout.write(line.rstrip())
