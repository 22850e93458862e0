"""What the benchmark commands share: choosing phases and printing the result table."""

import os

from django.core.management.base import CommandError

from core import bench


def phases(text: str, known: tuple[str, ...]) -> list[str]:
    """The phases named by ``--only`` (comma-separated), or a CommandError."""
    only = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(only) - set(known))
    if unknown or not only:
        raise CommandError(f"--only takes names from {', '.join(known)}; got {text!r}")
    return only


def write_table(stdout, title: str, rows: list[tuple[str, str, str]]) -> None:
    """The database line, then one aligned line per (metric, value, extra) row."""
    vendor, version = bench.server()
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
