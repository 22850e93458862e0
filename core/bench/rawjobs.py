"""queuebench's raw claim + complete on a copy of the job table: the same columns,
constraints and indexes as the queue's own, filled with no-op job rows, claimed and
completed by plain SQL. Beside the narrow scratch table it says what the database allows
for rows shaped like a job (each claim and each completion adds an entry to every index
the row is in, the GIN ones included); the processing phases are compared with it."""

import re

from core.models import Job

#: The copy's name; created and dropped by queuebench.
COPY = "queuebench_jobs"
TABLE = Job._meta.db_table
#: The columns a fill row sets, with the values enqueue gives a no-op job.
_COLUMNS = (
    "job_type, queue, payload, priority, run_at, max_attempts, retry_delay, retry_backoff, "
    "retry_delay_max, force_kill_on_timeout, tags, depends_on, status, attempts, progress, "
    "errors, step_data, lost_count, created_at, updated_at"
)
_VALUES = (
    "'queueadmin.noop', 'queuebench', '{}', 0, {now}, 3, 0, 'exponential', 3600, false, "
    "'[]', '[]', 'pending', 0, 0, '[]', '{}', 0, {now}, {now}"
)
#: The claim's order and filter, as job_claim_idx serves them.
_PENDING = (
    f"SELECT id FROM {COPY} WHERE status = 'pending' AND queue = 'queuebench' "
    "AND channel IS NULL ORDER BY priority DESC, run_at, id LIMIT {limit}"
)


class PostgresCopy:
    create = [f"CREATE TABLE {COPY} (LIKE {TABLE} INCLUDING ALL)"]
    fill = (
        f"INSERT INTO {COPY} ({_COLUMNS}) SELECT "
        + _VALUES.replace("{now}", "now()")
        + " FROM generate_series(1, %s)"
    )
    claim = (
        f"UPDATE {COPY} SET status = 'processing', locked_by = %s, "
        "locked_until = now() + interval '30 seconds', attempts = attempts + 1, "
        "started_at = now(), updated_at = now() WHERE id IN ("
        + _PENDING.format(limit="%s")
        + " FOR UPDATE SKIP LOCKED) RETURNING id"
    )
    complete = (
        f"UPDATE {COPY} SET status = 'completed', completed_at = now(), updated_at = now(), "
        "output = 'null', progress = 100, locked_by = NULL, locked_until = NULL "
        "WHERE id = ANY(%s::bigint[])"
    )

    def prepare(self, conn) -> None:
        """Nothing to read: LIKE … INCLUDING ALL copies the indexes."""


class SQLiteCopy:
    create: list[str] = []  # read from sqlite_master by prepare()
    _now = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    fill = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        f"INSERT INTO {COPY} ({_COLUMNS}) SELECT " + _VALUES.replace("{now}", _now) + " FROM n"
    )
    claim = (
        f"UPDATE {COPY} SET status = 'processing', locked_by = ?, "
        f"locked_until = strftime('%Y-%m-%d %H:%M:%f', 'now', '+30 seconds'), "
        f"attempts = attempts + 1, started_at = {_now}, updated_at = {_now} WHERE id IN ("
        + _PENDING.format(limit="?")
        + ") RETURNING id"
    )
    complete = (
        f"UPDATE {COPY} SET status = 'completed', completed_at = {_now}, "
        f"updated_at = {_now}, output = 'null', progress = 100, locked_by = NULL, "
        "locked_until = NULL WHERE id IN (SELECT value FROM json_each(?))"
    )

    def prepare(self, conn) -> None:
        """The job table's own CREATE statements, renamed for the copy."""
        rows = conn.execute(
            "SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
            "ORDER BY type = 'index'",
            (TABLE,),
        ).fetchall()
        self.create = [
            re.sub(r'INDEX "([^"]+)" ON "' + TABLE + '"', f'INDEX "{COPY}_\\1" ON "{COPY}"', sql)
            if kind == "index"
            else sql.replace(f'"{TABLE}"', f'"{COPY}"', 1)
            for kind, sql in rows
        ]


def job_copy(vendor: str):
    """The copy's statements for ``vendor``."""
    return PostgresCopy() if vendor == "postgresql" else SQLiteCopy()
