"""SQLite driver: json_each for tags, BEGIN IMMEDIATE claims, polling."""

from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from core.drivers.base import Driver

_HAS_TAG = 'EXISTS (SELECT 1 FROM json_each("core_job"."tags") WHERE json_each.value = %s)'
_HAS_OTHER_TAG = (
    'EXISTS (SELECT 1 FROM json_each("core_job"."tags") WHERE json_each.value NOT IN ({}))'
)


def _condition(sql: str, params: list[str]) -> Q:
    return Q(RawSQL(sql, params, output_field=BooleanField()))


class SQLiteDriver(Driver):
    """Queries for SQLite."""

    vendor = "sqlite"

    def _tags_all(self, tags: list[str]) -> Q:
        q = Q()
        for tag in dict.fromkeys(tags):
            q &= _condition(_HAS_TAG, [tag])
        return q

    def _tags_any(self, tags: list[str]) -> Q:
        q = Q(pk__in=[])
        for tag in dict.fromkeys(tags):
            q |= _condition(_HAS_TAG, [tag])
        return q

    def _tags_exact(self, tags: list[str]) -> Q:
        unique = list(dict.fromkeys(tags))
        others = _HAS_OTHER_TAG.format(", ".join(["%s"] * len(unique)))
        return self._tags_all(unique) & ~_condition(others, unique)
