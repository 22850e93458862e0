"""PostgreSQL's SQL for the claim with policies (core.drivers.claim)."""

import json
from contextlib import contextmanager, nullcontext
from datetime import datetime

from django.db import transaction

from core.drivers.claim import ChannelLimit, ClaimSteps, QueueLimit, Snapshot, where_sql
from core.drivers.rows import CLAIM_COLUMNS, ClaimedJob, claimed_from_row
from core.drivers.tables import sql

SNAPSHOT = sql(
    """
SELECT now() AS now,
       ARRAY(SELECT name FROM {Queue} WHERE paused) AS paused,
       ARRAY(SELECT name FROM {Queue}
              WHERE NOT paused AND (max_concurrency IS NOT NULL OR rate_limit IS NOT NULL))
           AS limited,
       EXISTS (SELECT 1 FROM {ChannelPolicy}) AS policies,
       (SELECT channel FROM {Job} WHERE status = 'pending' AND channel IS NOT NULL
         ORDER BY channel LIMIT 1) IS NOT NULL AS channel_jobs
"""
)

_SET_PROCESSING = """
       SET status = 'processing', attempts = j.attempts + 1, locked_by = %(worker)s,
           locked_until = now() + coalesce(j.lock_timeout, %(lease)s) * interval '1 second',
           started_at = now(), seen_running_at = NULL, updated_at = now()
"""

_EVENTS = sql(
    """
), events AS (
    INSERT INTO {JobEvent} (job_id, type, at, metadata)
    SELECT id, 'processing', now(),
           jsonb_build_object('worker', %(worker)s::text, 'attempt', attempts)
      FROM claimed
)
"""
)

CLAIM = sql(
    """
WITH claimed AS (
    UPDATE {Job} AS j"""
    + _SET_PROCESSING
    + """
     WHERE j.id = ANY(ARRAY(
           SELECT id FROM {Job}
            WHERE status = 'pending' AND run_at <= now() {filters}
            ORDER BY priority DESC, run_at, id
            LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED))
 RETURNING j.priority, j.run_at, {returning}"""
    + _EVENTS
    + "SELECT {columns} FROM claimed ORDER BY priority DESC, run_at, id"
)

# The snapshot and, when it holds no policy to keep, the plain claim: one round trip.
# A claim is committed without waiting for its WAL flush (synchronous_commit off): if
# the database itself crashes, a claim of its last moments may be lost, and its job
# is pending again while a worker runs it; the worker's outcome is then refused and
# the job runs once more, which at-least-once delivery allows. Enqueues and outcomes
# keep synchronous commits.
FIRST_CLAIM = sql(
    """
WITH snap AS MATERIALIZED ("""
    + SNAPSHOT
    + """
), async AS MATERIALIZED (
    SELECT set_config('synchronous_commit', 'off', true)
), claimed AS (
    UPDATE {Job} AS j"""
    + _SET_PROCESSING
    + """
      FROM async
     WHERE j.id = ANY(ARRAY(
           SELECT id FROM {Job}
            WHERE status = 'pending' AND run_at <= now() {filters}
              AND (SELECT cardinality(paused) = 0 AND cardinality(limited) = 0
                          AND NOT policies AND NOT channel_jobs FROM snap)
            ORDER BY priority DESC, run_at, id
            LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED))
 RETURNING j.priority, j.run_at, {returning}"""
    + _EVENTS
    # The snapshot as one text column: repeated on every row, it costs nothing to decode.
    + """SELECT json_build_array(s.now, s.paused, s.limited, s.policies, s.channel_jobs)::text,
       {claimed}
  FROM snap AS s LEFT JOIN claimed AS c ON true
 ORDER BY c.priority DESC, c.run_at, c.id
"""
)

# The skip scan: each step is one probe of job_channel_idx for the next name.
SCAN = sql(
    """
WITH RECURSIVE ch(name, depth) AS (
    (SELECT channel, 1 FROM {Job}
      WHERE status = 'pending' AND channel IS NOT NULL AND channel > %(after)s {upto}
      ORDER BY channel LIMIT 1)
  UNION ALL
    SELECT (SELECT channel FROM {Job}
             WHERE status = 'pending' AND channel IS NOT NULL AND channel > ch.name {upto}
             ORDER BY channel LIMIT 1),
           ch.depth + 1
      FROM ch WHERE ch.name IS NOT NULL AND ch.depth < %(count)s
)
SELECT name FROM ch WHERE name IS NOT NULL
"""
)

CLAIM_CHANNELS = sql(
    """
WITH candidates AS (
    SELECT c.ord, x.id, x.priority, x.run_at
      FROM unnest(%(channels)s::text[]) WITH ORDINALITY AS c(name, ord)
     CROSS JOIN LATERAL (
           SELECT id, priority, run_at FROM {Job}
            WHERE status = 'pending' AND channel = c.name AND run_at <= now() {filters}
            ORDER BY priority DESC, run_at, id
            LIMIT %(per)s
              FOR UPDATE SKIP LOCKED) AS x
), picked AS (
    SELECT id, ord, turn FROM (
        SELECT id, ord,
               row_number() OVER (PARTITION BY ord ORDER BY priority DESC, run_at, id) AS turn
          FROM candidates) AS t
     ORDER BY turn, ord
     LIMIT %(limit)s
), claimed AS (
    UPDATE {Job} AS j"""
    + _SET_PROCESSING
    + """
      FROM picked
     WHERE j.id = picked.id
 RETURNING picked.ord, picked.turn, j.priority, j.run_at, {returning}"""
    + _EVENTS
    + "SELECT ord, {columns} FROM claimed ORDER BY turn, ord"
)

LOCK_QUEUES = sql(
    """
SELECT name, max_concurrency, rate_limit, rate_period, recent_starts FROM {Queue}
 WHERE name = ANY(%(names)s) ORDER BY name
   FOR UPDATE SKIP LOCKED
"""
)

# Only policies that may start a job now (the claim re-checks exactly), in name
# order from after the rotation's place, wrapping round.
LOCK_POLICIES = sql(
    """
SELECT p.name, p.max_concurrency, p.release_interval, p.last_started_at
  FROM {ChannelPolicy} AS p
 WHERE EXISTS (SELECT 1 FROM {Job}
                WHERE status = 'pending' AND channel = p.name AND run_at <= now() {filters})
   AND (p.max_concurrency IS NULL
        OR p.max_concurrency > (SELECT count(*) FROM {Job}
                                 WHERE status = 'processing' AND channel = p.name))
   AND (p.release_interval IS NULL OR p.last_started_at IS NULL
        OR p.last_started_at <= now() - p.release_interval * interval '1 second')
 ORDER BY p.name > %(after)s DESC, p.name
 LIMIT %(limit)s
   FOR UPDATE OF p SKIP LOCKED
"""
)

DUE = sql(
    """
SELECT EXISTS (SELECT 1 FROM {Job}
                WHERE status = 'pending' AND channel IS NULL AND run_at <= now() {filters})
    OR EXISTS (SELECT 1 FROM {Job}
                WHERE status = 'pending' AND channel IS NOT NULL AND run_at <= now() {filters})
"""
)

RUNNING = sql(
    """
SELECT {column}, count(*) FROM {Job}
 WHERE status = 'processing' AND {column} = ANY(%(names)s)
 GROUP BY {column}
"""
)

SAVE_STARTS = sql(
    """
UPDATE {Queue} AS q SET recent_starts = v.starts::jsonb
  FROM unnest(%(names)s::text[], %(starts)s::text[]) AS v(name, starts)
 WHERE q.name = v.name
"""
)

MARK_RELEASED = sql(
    """
UPDATE {ChannelPolicy} SET last_started_at = now() WHERE name = ANY(%(names)s)
"""
)


_RETURNING = ", ".join(f"j.{column.strip()}" for column in CLAIM_COLUMNS.split(","))
_CLAIMED = ", ".join(f"c.{column.strip()}" for column in CLAIM_COLUMNS.split(","))


def _json(value):
    """jsonb arrives as text through Django's connection."""
    return json.loads(value) if isinstance(value, str) else value


def _member(column: str, key: str, values: tuple[str, ...], params: dict) -> str:
    params[key] = list(values)
    return f"{column} = ANY(%({key})s)"


class PostgresClaimSteps(ClaimSteps):
    """Mixed into PostgresDriver; runs inside the claim's transaction."""

    @contextmanager
    def claim_cursor(self, transactional):
        with (
            transaction.atomic(using=self.using) if transactional else nullcontext(),
            self.connection.cursor() as cursor,
        ):
            yield cursor

    def snapshot(self) -> Snapshot:
        with self.connection.cursor() as cursor:
            cursor.execute(SNAPSHOT)
            now, paused, limited, policies, channel_jobs = cursor.fetchone()
        return Snapshot(now, frozenset(paused), frozenset(limited), policies, channel_jobs)

    def first_claim(self, by, where, limit):
        params = by.params(limit=limit)
        sql = FIRST_CLAIM.format(
            filters=where_sql(where, params, _member), returning=_RETURNING, claimed=_CLAIMED
        )
        rows = self.execute(sql, params)
        now, paused, limited, policies, channel_jobs = json.loads(rows[0][0])
        snap = Snapshot(
            datetime.fromisoformat(now),
            frozenset(paused),
            frozenset(limited),
            policies,
            channel_jobs,
        )
        if paused or limited or policies or channel_jobs:
            return snap, None
        return snap, [claimed_from_row(row[1:]) for row in rows if row[1] is not None]

    def clock(self, cursor):
        cursor.execute("SELECT now()")  # the transaction's time, as the claims' started_at
        return cursor.fetchone()[0]

    def claim_where(self, cursor, by, where, limit) -> list[ClaimedJob]:
        params = by.params(limit=limit)
        sql = CLAIM.format(
            filters=where_sql(where, params, _member), columns=CLAIM_COLUMNS, returning=_RETURNING
        )
        cursor.execute(sql, params)
        return [claimed_from_row(row) for row in cursor.fetchall()]

    def scan_channels(self, cursor, after, count, upto=None) -> list[str]:
        params = {"after": after, "count": count, "upto": upto}
        cursor.execute(SCAN.format(upto="" if upto is None else "AND channel <= %(upto)s"), params)
        return [row[0] for row in cursor.fetchall()]

    def claim_channels(self, cursor, by, where, channels, per, limit):
        params = by.params(channels=channels, per=per, limit=limit)
        sql = CLAIM_CHANNELS.format(
            filters=where_sql(where, params, _member), columns=CLAIM_COLUMNS, returning=_RETURNING
        )
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        last = channels[max(row[0] for row in rows) - 1] if rows else None
        return [claimed_from_row(row[1:]) for row in rows], last

    def lock_queues(self, cursor, names) -> list[QueueLimit]:
        cursor.execute(LOCK_QUEUES, {"names": names})
        return [
            QueueLimit(name, concurrency, rate, period, _json(starts) or [])
            for name, concurrency, rate, period, starts in cursor.fetchall()
        ]

    def anything_due(self, cursor, where) -> bool:
        params: dict = {}
        cursor.execute(DUE.format(filters=where_sql(where, params, _member)), params)
        return cursor.fetchone()[0]

    def lock_channel_policies(self, cursor, where, limit, after) -> list[ChannelLimit]:
        params = {"limit": limit, "after": after}
        cursor.execute(LOCK_POLICIES.format(filters=where_sql(where, params, _member)), params)
        return [ChannelLimit(*row) for row in cursor.fetchall()]

    def running(self, cursor, column, names) -> dict[str, int]:
        assert column in ("queue", "channel")
        cursor.execute(RUNNING.format(column=column), {"names": names})
        return dict(cursor.fetchall())

    def save_starts(self, cursor, starts) -> None:
        if starts:
            names = list(starts)
            cursor.execute(
                SAVE_STARTS,
                {"names": names, "starts": [json.dumps(starts[name]) for name in names]},
            )

    def mark_released(self, cursor, channels) -> None:
        cursor.execute(MARK_RELEASED, {"names": channels})
