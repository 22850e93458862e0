"""PostgreSQL driver: jsonb operators, SKIP LOCKED claims, LISTEN/NOTIFY."""

import json
import sys
import time
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from psycopg import errors

from core import conf
from core.drivers.base import Driver
from core.drivers.postgres import events as notices
from core.drivers.postgres.claim import PostgresClaimSteps
from core.drivers.postgres.statements import (
    FINISH,
    HEARTBEAT,
    HOLD,
    INSERT,
    INSERT_KEYED,
    INSERT_ONE,
    INSERT_ONE_KEYED,
    JOB_STATE,
    MARK_RUNNING,
    RECLAIM,
    RELEASE,
    RESERVE_OFFSETS,
)
from core.drivers.rows import (
    EVENTS_CHANNEL,
    NOTIFY_CHANNEL,
    HeartbeatReply,
    Outcome,
    any_keyed,
    insert_kinds,
    match_inserted,
)
from core.drivers.stats import PostgresStats
from core.drivers.tables import sql, table
from core.models import Job

#: The latest error's message holds the text, case aside.
_LAST_ERROR_HOLDS = sql("""strpos(lower({Job}."errors" -> -1 ->> 'message'), lower(%s)) > 0""")


_TUPLES_OK = psycopg.pq.ExecStatus.TUPLES_OK


def _json(value: Any) -> str:
    """``value`` as JSON text; the values most jobs have without json.dumps."""
    if value is None:
        return "null"
    if value == []:
        return "[]"
    return json.dumps(value)


def _condition(sql: str, params: list[str]) -> Q:
    return Q(RawSQL(sql, params, output_field=BooleanField()))


class PostgresDriver(PostgresStats, PostgresClaimSteps, Driver):
    """Queries for PostgreSQL."""

    vendor = "postgresql"
    supports_notify = True
    default_poll_interval = 1.0
    supports_estimates = True

    def execute(self, sql: str, params: dict, *, binary: bool = False) -> list[tuple]:
        """Run one hot statement (enqueue, claim, outcomes) and return its rows.

        With server-side binding, so its parameters travel as they are instead of
        being quoted into the text in Python, and prepared (PostgreSQL plans it once
        per connection) unless the PREPARED_STATEMENTS setting is False. Errors are
        Django's, and the statement is logged in ``connection.queries`` like any.
        ``binary`` asks for the rows in binary form: psycopg's own loaders, which for
        timestamps give what Django's give when USE_TZ is on, in C instead of Python.
        """
        db = self.connection
        db.ensure_connection()
        prepare = bool(conf.get("PREPARED_STATEMENTS")) or None
        if prepare and db.connection.prepare_threshold is None:
            # Django turns psycopg's preparing off (prepare_threshold None), which makes
            # prepare=True a no-op: prepare what is asked for, and nothing else.
            db.connection.prepare_threshold = sys.maxsize
        # One cursor per connection, kept (on Django's per-thread wrapper) for the next
        # statement: making one each time cost a single enqueue about 7 %.
        cursor = getattr(db, "_queueadmin_cursor", None)
        if cursor is None or cursor.connection is not db.connection or cursor.closed:
            cursor = db._queueadmin_cursor = psycopg.Cursor(db.connection)
        started = time.monotonic()
        with db.wrap_database_errors:
            cursor.execute(sql, params, prepare=prepare, binary=binary)
            # The result's status, not ``description``, which builds its columns each time.
            rows = cursor.fetchall() if cursor.pgresult.status == _TUPLES_OK else []
        if db.queries_logged:
            db.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
        return rows

    # The GIN indexes (jsonb_path_ops) on payload and tags serve @> and nothing else,
    # so every tag and payload filter is written as containment.

    def _tags_exact(self, tags: list[str]) -> Q:
        # jsonb @> and <@ compare as sets: both ways means the same tags.
        return self._tags_all(tags) & Q(tags__contained_by=tags)

    def _tags_all(self, tags: list[str]) -> Q:
        return self._contains("tags", tags)

    def _tags_any(self, tags: list[str]) -> Q:
        # One @> per tag: the planner ORs their index scans (a BitmapOr).
        q = Q(pk__in=[])
        for tag in dict.fromkeys(tags):
            q |= self._contains("tags", [tag])
        return q

    def _contains(self, column: str, value: dict | list) -> Q:
        condition = f'{{Job}}."{column}" @> %s::jsonb'
        if column == "tags" and value:
            # Only a job with tags contains some: saying so lets the planner use
            # job_tagged_gin, which holds tagged jobs only (migration 0010).
            condition = f"({condition} AND {{Job}}.\"tags\" <> '[]'::jsonb)"
        return _condition(sql(condition), [json.dumps(value)])

    def last_error_filter(self, text: str) -> Q:
        return _condition(_LAST_ERROR_HOLDS, [text])

    def insert_jobs(self, rows: list[dict[str, Any]]) -> list[tuple | None]:
        # The rows come back in binary: two timestamps per row, loaded in C (a twentieth
        # of a bulk insert).
        binary = settings.USE_TZ
        if len(rows) == 1:
            row = rows[0]
            params = {
                **row,
                "payload": _json(row["payload"]),
                "tags": _json(row["tags"]),
                "depends_on": _json(row["depends_on"]),
                "notify": NOTIFY_CHANNEL,
            }
            statement = INSERT_ONE if row["idempotency_key"] is None else INSERT_ONE_KEYED
            return match_inserted(rows, self.execute(statement, params, binary=binary))
        kinds, values = insert_kinds(rows, lambda at: None if at is None else at.isoformat())
        params = {"kinds": json.dumps(kinds), "rows": json.dumps(values), "notify": NOTIFY_CHANNEL}
        statement = INSERT_KEYED if any_keyed(rows) else INSERT
        return match_inserted(rows, self.execute(statement, params, binary=binary))

    def finish(self, worker_id: str, outcomes: list[Outcome]) -> list[int]:
        # One JSON parameter: quoting seven arrays element by element costs more
        # Python time than the statement costs the database.
        rows = json.dumps(
            [[o.job_id, o.status, o.output, o.error, o.delay, o.event, o.meta] for o in outcomes]
        )
        params = {"worker": worker_id, "rows": rows, "events": EVENTS_CHANNEL}
        return [row[0] for row in self.execute(FINISH, params)]

    def mark_running(self, worker_id, job_ids, ended_ids=()) -> list[int]:
        params = {"worker": worker_id, "ids": list(job_ids), "ended": list(ended_ids)}
        with self.connection.cursor() as cursor:
            cursor.execute(MARK_RUNNING, params)
            return [row[0] for row in cursor.fetchall()]

    def heartbeat(
        self,
        worker_id,
        lease,
        job_ids,
        *,
        running_ids=(),
        processed=0,
        completed=0,
        failed=0,
        state="running",
        idle=0,
        ping_ms=None,
        stuck=(),
    ) -> HeartbeatReply:
        params = {
            "worker": worker_id,
            "lease": lease,
            "running": len(running_ids),
            "running_ids": list(running_ids),
            "ids": list(job_ids),
            "processed": processed,
            "completed": completed,
            "failed": failed,
            "state": state,
            "idle": idle,
            "ping_ms": ping_ms,
            "stuck": json.dumps(list(stuck)),
        }
        with self.connection.cursor() as cursor:
            cursor.execute(HEARTBEAT, params)
            rows = cursor.fetchall()
        reply = HeartbeatReply(cancelled=[row[0] for row in rows if row[0] is not None])
        for job_id, order, ordered_by in rows:
            if job_id is None:
                reply.order, reply.ordered_by = order, ordered_by
        return reply

    def reclaim_expired(self) -> list[tuple[int, str]]:
        with self.connection.cursor() as cursor:
            cursor.execute(RECLAIM, {"events": EVENTS_CHANNEL})
            return [(row[0], row[1]) for row in cursor.fetchall()]

    def release(self, worker_id: str, job_ids: list[int]) -> int:
        if not job_ids:
            return 0
        with self.connection.cursor() as cursor:
            cursor.execute(RELEASE, {"worker": worker_id, "ids": list(job_ids)})
            return cursor.rowcount

    def hold(self, owner, job_ids, lock, lease) -> list[tuple]:
        if not job_ids:
            return []
        params = {"owner": owner, "ids": list(job_ids), "lock": lock, "lease": lease}
        with self.connection.cursor() as cursor:
            cursor.execute(HOLD, params)
            rows = cursor.fetchall()
        # Django reads jsonb as text.
        return [(i, until, None if s is None else json.loads(s)) for i, until, s in rows]

    def reserve_offsets(self, topic: str, partition: int, count: int) -> int:
        with self.connection.cursor() as cursor:
            cursor.execute(RESERVE_OFFSETS, [count, topic, partition])
            return cursor.fetchone()[0] - count

    def listen(self) -> notices.Listener:
        return notices.Listener(notices.conninfo(self.connection), NOTIFY_CHANNEL)

    supports_job_notifications = True

    def notify_jobs(self, rows: list[tuple[int, str, str, str]]) -> None:
        if rows:
            self.execute(notices.NOTIFY_JOBS, notices.notify_params(rows))

    def job_state(self, job_id: int) -> tuple[str, Any] | None:
        rows = self.execute(JOB_STATE, {"id": job_id})  # prepared: no planning per look
        if not rows:
            return None
        status, output = rows[0]
        return status, None if output is None else json.loads(output)

    def listen_jobs(self) -> notices.Listener:
        return notices.Listener(notices.conninfo(self.connection), EVENTS_CHANNEL)

    def run_within(self, seconds: float, query):
        timeout = f"{max(1, int(seconds * 1000))}ms"
        try:
            # The timeout is local to this transaction (or savepoint): a
            # cancelled query rolls it back with it, a finished one restores it.
            with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT current_setting('statement_timeout'), "
                    "set_config('statement_timeout', %s, true)",
                    [timeout],
                )
                previous = cursor.fetchone()[0]
                result = query()
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
                return result
        except OperationalError as exc:
            if isinstance(exc.__cause__, errors.QueryCanceled):
                return None
            raise

    def frequent_values(self, column: str) -> dict[str, float]:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT most_common_vals::text::text[], most_common_freqs FROM pg_stats "
                "WHERE schemaname = current_schema() AND tablename = %s AND attname = %s",
                [Job._meta.db_table, column],
            )
            row = cursor.fetchone()
        if not row or not row[0]:
            return {}
        return dict(zip(row[0], row[1], strict=True))

    def estimate_count(self, queryset) -> int:
        query, params = queryset.query.sql_with_params()
        with self.connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {query}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return int(plan[0]["Plan"]["Plan Rows"])

    def copy_rows(self, table: str, columns: list[str], rows) -> int:
        names = ", ".join(f'"{name}"' for name in columns)
        count = 0
        statement = f'COPY "{table}" ({names}) FROM STDIN'
        with self.connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    def analyze(self) -> None:
        # VACUUM also sets the visibility map, so counts after a bulk load can
        # use index-only scans; it cannot run inside a transaction.
        command = "ANALYZE" if self.connection.in_atomic_block else "VACUUM (ANALYZE)"
        with self.connection.cursor() as cursor:
            cursor.execute(f"{command} {table('Job')}")
            cursor.execute(f"{command} {table('JobEvent')}")

    def reserve_ids(self, table: str, count: int) -> int:
        # setval is not transactional: concurrent enqueues at once skip past the
        # reserved range (a rollback just leaves a gap).
        name = self.connection.ops.quote_name(table)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT setval(seq, greatest((SELECT coalesce(max(id), 0) FROM {name}),
                                                coalesce(pg_sequence_last_value(seq), 0)) + %s)
                      FROM (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq) s""",
                [count, name],
            )
            return cursor.fetchone()[0] - count + 1

    def reset_sequence(self, table: str) -> None:
        name = self.connection.ops.quote_name(table)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT setval(seq, top)
                      FROM (SELECT seq, greatest((SELECT coalesce(max(id), 0) FROM {name}),
                                                 coalesce(pg_sequence_last_value(seq), 0)) AS top
                              FROM (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq) s
                           ) t
                     WHERE top > 0""",
                [name],
            )

    @contextmanager
    def bulk_load(self, table: str):
        # A deferred foreign key check per row costs more than loading the row;
        # re-adding the constraint checks every row in one join instead.
        if not self.connection.in_atomic_block:
            raise RuntimeError("bulk_load needs a transaction (transaction.atomic())")
        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid), condeferrable FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
                [quote(table)],
            )
            keys = cursor.fetchall()
            # Run every deferred check still pending in this transaction now (an
            # ALTER TABLE refuses to run with pending trigger events on the table).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for name, _, _ in keys:
                cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        yield
        with self.connection.cursor() as cursor:
            for name, definition, _ in keys:
                cursor.execute(
                    f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}"
                )
