"""PostgreSQL driver: jsonb operators, SKIP LOCKED claims, LISTEN/NOTIFY."""

from django.db.models import Q

from core.drivers.base import Driver


class PostgresDriver(Driver):
    """Queries for PostgreSQL."""

    vendor = "postgresql"

    def _tags_exact(self, tags: list[str]) -> Q:
        # jsonb @> and <@ compare as sets: both ways means the same tags.
        return Q(tags__contains=tags, tags__contained_by=tags)

    def _tags_all(self, tags: list[str]) -> Q:
        return Q(tags__contains=tags)

    def _tags_any(self, tags: list[str]) -> Q:
        # jsonb ?| matches string elements of a top-level array.
        return Q(tags__has_any_keys=tags)
