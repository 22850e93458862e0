"""SQLite driver: json_each for tags, BEGIN IMMEDIATE claims, polling.

SQLite is embedded, so "one round trip" is moot; what matters is one short
write transaction per batch (BEGIN IMMEDIATE via transaction_mode) so
workers queue on the busy timeout instead of failing.
"""

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import OperationalError, transaction
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from core.drivers.base import Driver
from core.drivers.rows import (
    HeartbeatReply,
    Outcome,
    any_keyed,
    insert_kinds,
    match_inserted,
)
from core.drivers.sqlite.claim import SQLiteClaimSteps
from core.drivers.sqlite.contains import contains_sql
from core.drivers.sqlite.listener import SQLiteListener
from core.drivers.sqlite.statements import (
    CANCELLED,
    EXPIRED,
    FINISH,
    HEARTBEAT_JOBS,
    HEARTBEAT_WORKER,
    HOLD,
    INSERT,
    INSERT_EVENTS,
    INSERT_KEYED,
    MARK_ENDED,
    MARK_RUNNING,
    RECLAIM,
    RELEASE,
    RESERVE_OFFSETS,
)
from core.drivers.stats import SQLiteStats
from core.drivers.tables import sql

_HAS_TAG = sql('EXISTS (SELECT 1 FROM json_each({Job}."tags") WHERE json_each.value = %s)')
_HAS_OTHER_TAG = sql(
    'EXISTS (SELECT 1 FROM json_each({Job}."tags") WHERE json_each.value NOT IN ({}))'
)

#: The latest error's message holds the text, case aside (SQLite folds ASCII only).
_LAST_ERROR_HOLDS = sql(
    """instr(lower(json_extract({Job}."errors", '$[#-1].message')), lower(%s)) > 0"""
)


def _condition(sql: str, params: list[str]) -> Q:
    return Q(RawSQL(sql, params, output_field=BooleanField()))


def _utc(value: str | datetime) -> datetime:
    """A timestamp column read back by raw SQL (text, or naive when converted) in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class SQLiteDriver(SQLiteStats, SQLiteClaimSteps, Driver):
    """Queries for SQLite."""

    vendor = "sqlite"
    supports_notify = True
    default_poll_interval = 0.25

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

    def _contains(self, column: str, value: dict | list) -> Q:
        return _condition(*contains_sql(sql(f'{{Job}}."{column}"'), value))

    def last_error_filter(self, text: str) -> Q:
        return _condition(_LAST_ERROR_HOLDS, [text])

    def listen(self) -> SQLiteListener:
        settings = self.connection.settings_dict
        return SQLiteListener(settings["NAME"], settings["OPTIONS"].get("timeout", 5))

    # Django stores aware datetimes in SQLite as naive UTC text; match that.
    def _ts(self, value: datetime) -> str:
        return self.connection.ops.adapt_datetimefield_value(value)

    def _events(self, cursor, now: str, rows: list[tuple[int, str, dict]]) -> None:
        if rows:
            payload = json.dumps([[job_id, kind, json.dumps(meta)] for job_id, kind, meta in rows])
            cursor.execute(INSERT_EVENTS, [now, payload])

    def insert_jobs(self, rows: list[dict[str, Any]]) -> list[tuple | None]:
        now = timezone.now()
        ts = self._ts(now)
        kinds, values = insert_kinds(rows, lambda at: ts if at is None else self._ts(at))
        # One statement: its own transaction (no added event rows; see job_events).
        with self.connection.cursor() as cursor:
            cursor.execute(
                INSERT_KEYED if any_keyed(rows) else INSERT,
                [json.dumps(kinds), ts, ts, json.dumps(values)],
            )
            returned = cursor.fetchall()
        matched = match_inserted(rows, [(i, key, None, None) for i, key in returned])
        return [
            None if m is None else (m[0], row["run_at"] or now, now)
            for row, m in zip(rows, matched, strict=True)
        ]

    def finish(self, worker_id: str, outcomes: list[Outcome]) -> list[int]:
        now = timezone.now()
        ts = self._ts(now)
        rows = [
            [
                o.job_id,
                o.status,
                json.dumps(o.output),
                None if o.error is None else json.dumps(o.error),
                self._ts(now + timedelta(seconds=o.delay)) if o.status == "pending" else None,
            ]
            for o in outcomes
        ]
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            cursor.execute(FINISH, [ts, ts, ts, json.dumps(rows), worker_id])
            done = {row[0] for row in cursor.fetchall()}
            self._events(
                cursor, ts, [(o.job_id, o.event, o.meta) for o in outcomes if o.job_id in done]
            )
        return [o.job_id for o in outcomes if o.job_id in done]

    def mark_running(self, worker_id, job_ids, ended_ids=()) -> list[int]:
        ts = self._ts(timezone.now())
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            if ended_ids:
                cursor.execute(MARK_ENDED, [json.dumps(list(ended_ids)), worker_id])
            cursor.execute(MARK_RUNNING, [ts, json.dumps(list(job_ids)), worker_id])
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
        now = timezone.now()
        ts = self._ts(now)
        ids = json.dumps(list(job_ids))
        running = json.dumps(list(running_ids))
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            cursor.execute(
                HEARTBEAT_WORKER,
                [
                    *(ts, len(running_ids), processed, completed, failed),
                    *(state, idle, ping_ms, json.dumps(list(stuck)), worker_id),
                ],
            )
            rows = cursor.fetchall()
            until = self._ts(now + timedelta(seconds=lease))
            cursor.execute(HEARTBEAT_JOBS, [until, ts, running, ts, ids, worker_id])
            cursor.execute(CANCELLED, [ids])
            reply = HeartbeatReply(cancelled=[row[0] for row in cursor.fetchall()])
        if rows:
            reply.order, reply.ordered_by = rows[0]
        return reply

    def reclaim_expired(self) -> list[tuple[int, str]]:
        ts = self._ts(timezone.now())
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            cursor.execute(EXPIRED, {"now": ts})
            running = dict(cursor.fetchall())
            if not running:
                return []
            cursor.execute(RECLAIM, {"now": ts, "ids": json.dumps(list(running))})
            rows = cursor.fetchall()
            meta = {"reason": "lease expired"}
            events = [
                (
                    job_id,
                    "reclaimed",
                    {
                        "status": status,
                        "attempt": attempts,
                        **meta,
                        "running": bool(running[job_id]),
                    },
                )
                for job_id, status, attempts in rows
            ]
            self._events(cursor, ts, events)
        return [(row[0], row[1]) for row in rows]

    def hold(self, owner, job_ids, lock, lease) -> list[tuple]:
        if not job_ids:
            return []
        params = {
            "now": self._ts(timezone.now()),
            "owner": owner,
            "ids": json.dumps(list(job_ids)),
            "lock": lock,
            "lease": lease,
        }
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            cursor.execute(HOLD, params)
            rows = cursor.fetchall()
        return [
            (job_id, _utc(until), None if state is None else json.loads(state))
            for job_id, until, state in rows
        ]

    def release(self, worker_id: str, job_ids: list[int]) -> int:
        if not job_ids:
            return 0
        ts = self._ts(timezone.now())
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            cursor.execute(RELEASE, [ts, ts, json.dumps(list(job_ids)), worker_id])
            released = [row[0] for row in cursor.fetchall()]
            meta = {"reason": "worker shutdown", "worker": worker_id}
            self._events(cursor, ts, [(job_id, "reclaimed", meta) for job_id in released])
        return len(released)

    def reserve_offsets(self, topic: str, partition: int, count: int) -> int:
        with self.connection.cursor() as cursor:
            cursor.execute(RESERVE_OFFSETS, [count, topic, partition])
            return cursor.fetchone()[0] - count

    def run_within(self, seconds: float, query):
        # SQLite has no statement timeout: a progress handler, called every few thousand
        # virtual-machine steps, interrupts the statement once the time is up.
        deadline = time.monotonic() + seconds
        self.connection.ensure_connection()
        raw = self.connection.connection
        raw.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
        try:
            return query()
        except OperationalError as exc:
            if "interrupted" in str(exc):
                return None
            raise
        finally:
            raw.set_progress_handler(None, 0)

    def copy_rows(self, table: str, columns: list[str], rows) -> int:
        names = ", ".join(f'"{name}"' for name in columns)
        marks = ", ".join("?" * len(columns))
        sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
        count = 0
        batch: list = []
        with self.connection.cursor() as cursor:
            for row in rows:
                batch.append(row)
                if len(batch) == 10_000:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
        return count

    def analyze(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    def reserve_ids(self, table: str, count: int) -> int:
        # The caller's transaction holds SQLite's single write lock (BEGIN
        # IMMEDIATE), so nobody else can take these ids meanwhile.
        name = self.connection.ops.quote_name(table)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT max(coalesce((SELECT max(id) FROM {name}), 0),
                               coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0))""",
                [table],
            )
            return cursor.fetchone()[0] + 1

    def reset_sequence(self, table: str) -> None:
        # Nothing to do: an INSERT with an explicit id above sqlite_sequence raises
        # it (AUTOINCREMENT tables), and plain rowid tables use max(id) + 1.
        return None
