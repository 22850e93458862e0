"""The per-minute job statistics' SQL (JobStat): the rollup of one minute of finished
jobs and the chart series read back at a coarser step. One statement text for both
databases; each vendor's mixin supplies its time arithmetic (``SECONDS``, ``EPOCH``).

Everything is aggregated in the database: a minute at 20,000 jobs/s is 1.2 million
rows, found through the ``job_completed_idx``/``job_failed_idx`` range indexes.
"""

from datetime import datetime

from core.drivers.tables import sql
from core.models import JobStat, JobStatHour
from core.models.stats import BOUNDS, TIMINGS, bucket_column

_TABLE = f'"{JobStat._meta.db_table}"'
#: The table and time column the series read: per minute, or per hour.
_SERIES_SOURCES = {False: (_TABLE, "minute"), True: (f'"{JobStatHour._meta.db_table}"', "hour")}

#: The columns the rollup writes (all but ``depth``, which the depth sample writes).
FINISHED_COLUMNS = [
    "completed",
    "failed",
    *(f"{timing}_{part}" for timing in TIMINGS for part in ("count", "sum")),
    *(bucket_column(timing, bound) for timing in TIMINGS for bound in BOUNDS),
]


def _aggregates() -> list[str]:
    exprs = ["sum(c)", "sum(f)"]
    for timing in TIMINGS:
        exprs += [f"count({timing})", f"coalesce(sum({timing}), 0)"]
    for timing in TIMINGS:
        exprs += [f"count(*) FILTER (WHERE {timing} <= {bound!r})" for bound in BOUNDS]
    return exprs


def rollup_statement(seconds: str) -> str:
    """The upsert of one minute's rows; ``seconds`` is the vendor's ``{a} - {b}`` in
    seconds as a float. Jobs completed in the minute give counts and timings, jobs
    failed in it counts; the empty (queue, job type) row marks the minute rolled up."""
    run = seconds.format(a="completed_at", b="started_at")
    wait = seconds.format(a="started_at", b="run_at")
    columns = ", ".join(FINISHED_COLUMNS)
    updates = ", ".join(f"{name} = excluded.{name}" for name in FINISHED_COLUMNS)
    text = f"""
INSERT INTO {_TABLE} (minute, queue, job_type, depth, {columns})
SELECT %(minute)s, queue, job_type, 0, {", ".join(_aggregates())}
  FROM (SELECT queue, job_type, 1 AS c, 0 AS f,
               CASE WHEN started_at IS NULL THEN NULL
                    WHEN {run} < 0 THEN 0.0 ELSE {run} END AS run,
               CASE WHEN started_at IS NULL THEN NULL
                    WHEN {wait} < 0 THEN 0.0 ELSE {wait} END AS wait
          FROM {{Job}}
         WHERE completed_at >= %(start)s AND completed_at < %(end)s
        UNION ALL
        SELECT queue, job_type, 0, 1, NULL, NULL
          FROM {{Job}}
         WHERE failed_at >= %(start)s AND failed_at < %(end)s
        UNION ALL
        SELECT '', '', 0, 0, NULL, NULL) AS j
 WHERE true  -- SQLite needs it before ON CONFLICT after a SELECT
 GROUP BY queue, job_type
    ON CONFLICT (minute, queue, job_type) DO UPDATE SET {updates}
"""
    return sql(text)


def series_statement(epoch: str, filters: str, hourly: bool = False) -> str:
    """Completed, failed and the highest sampled depth per step from ``origin``:
    periods are totalled first (so depth is of the whole selection), then stepped."""
    table, column = _SERIES_SOURCES[hourly]
    return f"""
SELECT slot, sum(c), sum(f), max(d)
  FROM (SELECT ({epoch.format(a=column)} - %(origin)s) / %(step)s AS slot,
               sum(completed) AS c, sum(failed) AS f, sum(depth) AS d
          FROM {table}
         WHERE {column} >= %(start)s AND {column} < %(end)s{filters}
         GROUP BY {column}) AS m
 GROUP BY slot
 ORDER BY slot
"""


class StatsQueries:
    """Driver methods for the JobStat table (mixed into each vendor's driver)."""

    #: SQL for ``{a} - {b}`` in seconds (float), for two timestamp columns.
    SECONDS = ""
    #: SQL for the integer Unix time of the timestamp column ``{a}``.
    EPOCH = ""

    def _stat_time(self, value: datetime):
        return self.connection.ops.adapt_datetimefield_value(value)

    def rollup_minute(self, minute: datetime, end: datetime) -> int:
        """Write (replace) the JobStat rows of the minute [minute, end) from the jobs that
        completed or failed in it, in one statement; returns the rows written."""
        params = {
            "minute": self._stat_time(minute),
            "start": self._stat_time(minute),
            "end": self._stat_time(end),
        }
        with self.connection.cursor() as cursor:
            cursor.execute(rollup_statement(self.SECONDS), params)
            return cursor.rowcount

    def stat_series(
        self,
        start: datetime,
        end: datetime,
        step: int,
        queue: str | None = None,
        job_type: str | None = None,
        hourly: bool = False,
    ) -> list[tuple[int, int, int, int]]:
        """(step number from ``start``, completed, failed, highest depth) per step of
        ``step`` seconds with any row, for one queue and/or job type or all, from the
        per-minute rows or (``hourly``) the per-hour ones."""
        params = {
            "origin": int(start.timestamp()),
            "step": int(step),
            "start": self._stat_time(start),
            "end": self._stat_time(end),
        }
        filters = ""
        if queue is not None:
            filters += " AND queue = %(queue)s"
            params["queue"] = queue
        if job_type is not None:
            filters += " AND job_type = %(job_type)s"
            params["job_type"] = job_type
        with self.connection.cursor() as cursor:
            cursor.execute(series_statement(self.EPOCH, filters, hourly), params)
            return [tuple(int(v or 0) for v in row) for row in cursor.fetchall()]


class PostgresStats(StatsQueries):
    """PostgreSQL's time arithmetic for the JobStat statements."""

    SECONDS = "extract(epoch FROM {a} - {b})::float8"
    EPOCH = "extract(epoch FROM {a})::bigint"


class SQLiteStats(StatsQueries):
    """SQLite's time arithmetic (timestamps are ISO text) for the JobStat statements."""

    SECONDS = "((julianday({a}) - julianday({b})) * 86400.0)"
    EPOCH = "CAST(strftime('%%s', {a}) AS INTEGER)"
