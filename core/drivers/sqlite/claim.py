"""SQLite's SQL for the claim with policies (core.drivers.claim).

The claim's write transaction is BEGIN IMMEDIATE (the settings' transaction
mode): it holds the database's one write lock, so no row locks are needed and
nothing else can claim, count or start meanwhile.
"""

import json
from contextlib import contextmanager
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.drivers.claim import ChannelLimit, ClaimSteps, QueueLimit, Snapshot, where_sql
from core.drivers.rows import CLAIM_COLUMNS, ClaimedJob, claimed_from_row
from core.drivers.tables import sql

SNAPSHOT = sql(
    """
SELECT (SELECT json_group_array(name) FROM {Queue} WHERE paused),
       (SELECT json_group_array(name) FROM {Queue}
         WHERE NOT paused AND (max_concurrency IS NOT NULL OR rate_limit IS NOT NULL)),
       EXISTS (SELECT 1 FROM {ChannelPolicy}),
       (SELECT channel FROM {Job} WHERE status = 'pending' AND channel IS NOT NULL
         ORDER BY channel LIMIT 1) IS NOT NULL
"""
)

DUE = sql(
    """
SELECT 1 FROM {Job} WHERE status = 'pending' AND run_at <= %(now)s {filters} LIMIT 1
"""
)

_SET_PROCESSING = sql(
    """
UPDATE {Job}
   SET status = 'processing', attempts = attempts + 1, locked_by = %(worker)s,
       locked_until = CASE WHEN lock_timeout IS NULL THEN %(until)s
                           ELSE strftime('%%Y-%%m-%%d %%H:%%M:%%f', %(now)s,
                                         '+' || lock_timeout || ' seconds') END,
       started_at = %(now)s, seen_running_at = NULL,
       updated_at = %(now)s
"""
)

CLAIM = _SET_PROCESSING + sql(
    """
 WHERE id IN (SELECT id FROM {Job}
               WHERE status = 'pending' AND run_at <= %(now)s {filters}
               ORDER BY priority DESC, run_at, id
               LIMIT %(limit)s)
RETURNING priority, run_at, {columns}
"""
)

CLAIM_IDS = (
    _SET_PROCESSING
    + """
 WHERE id IN (SELECT value FROM json_each(%(ids)s)) AND status = 'pending'
RETURNING priority, run_at, channel, {columns}
"""
)

# One channel's next jobs; a claim unites these for up to CHANNELS_PER_STATEMENT
# channels (SQLite allows 500 terms in a compound SELECT).
CHANNEL_JOBS = sql(
    """
SELECT * FROM (SELECT {order} AS ord, id, priority, run_at FROM {Job}
                INDEXED BY job_channel_idx
                WHERE status = 'pending' AND channel = %(c{order})s AND run_at <= %(now)s
                      {filters}
                ORDER BY priority DESC, run_at, id
                LIMIT %(per)s)
"""
)
CHANNELS_PER_STATEMENT = 200

# The skip scan: each step is one probe of job_channel_idx for the next name
# (named, as SQLite's planner without statistics may prefer scanning).
SCAN = sql(
    """
WITH RECURSIVE ch(name, depth) AS (
    SELECT (SELECT channel FROM {Job} INDEXED BY job_channel_idx
             WHERE status = 'pending' AND channel IS NOT NULL AND channel > %(after)s {upto}
             ORDER BY channel LIMIT 1), 1
  UNION ALL
    SELECT (SELECT channel FROM {Job} INDEXED BY job_channel_idx
             WHERE status = 'pending' AND channel IS NOT NULL AND channel > ch.name {upto}
             ORDER BY channel LIMIT 1),
           ch.depth + 1
      FROM ch WHERE ch.name IS NOT NULL AND ch.depth < %(count)s
)
SELECT name FROM ch WHERE name IS NOT NULL
"""
)

LOCK_QUEUES = sql(
    """
SELECT name, max_concurrency, rate_limit, rate_period, recent_starts FROM {Queue}
 WHERE name IN (SELECT value FROM json_each(%(names)s)) ORDER BY name
"""
)

# Only policies that may start a job now (the claim re-checks exactly), in name
# order from after the rotation's place, wrapping round.
LOCK_POLICIES = sql(
    """
SELECT p.name, p.max_concurrency, p.release_interval, p.last_started_at
  FROM {ChannelPolicy} AS p
 WHERE EXISTS (SELECT 1 FROM {Job}
                WHERE status = 'pending' AND channel = p.name AND run_at <= %(now)s {filters})
   AND (p.max_concurrency IS NULL
        OR p.max_concurrency > (SELECT count(*) FROM {Job}
                                 WHERE status = 'processing' AND channel = p.name))
   AND (p.release_interval IS NULL OR p.last_started_at IS NULL
        OR julianday(p.last_started_at) <= julianday(%(now)s) - p.release_interval / 86400.0)
 ORDER BY p.name > %(after)s DESC, p.name
 LIMIT %(limit)s
"""
)

DUE_ANY = sql(
    """
SELECT EXISTS (SELECT 1 FROM {Job} INDEXED BY job_claim_idx
                WHERE status = 'pending' AND channel IS NULL AND run_at <= %(now)s {filters})
    OR EXISTS (SELECT 1 FROM {Job} INDEXED BY job_channel_idx
                WHERE status = 'pending' AND channel IS NOT NULL AND run_at <= %(now)s
                      {filters})
"""
)

RUNNING = sql(
    """
SELECT {column}, count(*) FROM {Job}
 WHERE status = 'processing' AND {column} IN (SELECT value FROM json_each(%(names)s))
 GROUP BY {column}
"""
)

SAVE_STARTS = sql("UPDATE {Queue} SET recent_starts = %s WHERE name = %s")
MARK_RELEASED = sql(
    "UPDATE {ChannelPolicy} SET last_started_at = %s"
    " WHERE name IN (SELECT value FROM json_each(%s))"
)


def _member(column: str, key: str, values: tuple[str, ...], params: dict) -> str:
    params[key] = json.dumps(list(values))  # a list travels as one JSON parameter
    return f"{column} IN (SELECT value FROM json_each(%({key})s))"


class SQLiteClaimSteps(ClaimSteps):
    """Mixed into SQLiteDriver."""

    _now = None

    @contextmanager
    def claim_cursor(self, transactional):
        if transactional:
            with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
                yield cursor
        else:
            with self.connection.cursor() as cursor:
                yield cursor

    def snapshot(self) -> Snapshot:
        with self.connection.cursor() as cursor:
            cursor.execute(SNAPSHOT)
            paused, limited, policies, channel_jobs = cursor.fetchone()
        return Snapshot(
            timezone.now(),
            frozenset(json.loads(paused)),
            frozenset(json.loads(limited)),
            bool(policies),
            bool(channel_jobs),
        )

    def clock(self, cursor):
        # Read inside the write transaction: later claims get later times.
        self._now = timezone.now()
        return self._now

    def _params(self, by=None, **extra) -> dict:
        """The claim's clock as text (``now``), and with ``by`` its claimant and lease end."""
        now = self._now or timezone.now()
        if by is None:
            return {"now": self._ts(now), **extra}
        until = self._ts(now + timedelta(seconds=by.lease))
        return by.params(now=self._ts(now), until=until, **extra)

    def _finish_claim(self, cursor, by, rows, turns=None) -> list[ClaimedJob]:
        # RETURNING order is unspecified in SQLite: restore the run order, or the
        # channels' turns (``turns``: each job id's place).
        if turns is None:
            rows.sort(key=lambda r: (-r[0], r[1], r[2]))
        else:
            rows.sort(key=lambda r: turns[r[2]])
        jobs = [claimed_from_row(row[2:]) for row in rows]
        events = [
            (j.id, "processing", {"worker": by.worker_id, "attempt": j.attempts}) for j in jobs
        ]
        self._events(cursor, self._params()["now"], events)
        return jobs

    def plain_claim(self, cursor, by, where, limit) -> list[ClaimedJob]:
        self._now = timezone.now()
        params = self._params(by, limit=limit)
        filters = where_sql(where, params, _member)
        # A read (no write lock under WAL) first, so idle workers polling an
        # empty queue never queue up for the database's single write lock.
        cursor.execute(DUE.format(filters=filters), params)
        if cursor.fetchone() is None:
            return []
        with transaction.atomic(using=self.using):
            self._now = timezone.now()
            return self.claim_where(cursor, by, where, limit)

    def claim_where(self, cursor, by, where, limit) -> list[ClaimedJob]:
        params = self._params(by, limit=limit)
        cursor.execute(
            CLAIM.format(filters=where_sql(where, params, _member), columns=CLAIM_COLUMNS), params
        )
        return self._finish_claim(cursor, by, cursor.fetchall())

    def scan_channels(self, cursor, after, count, upto=None) -> list[str]:
        params = {"after": after, "count": count, "upto": upto}
        cursor.execute(SCAN.format(upto="" if upto is None else "AND channel <= %(upto)s"), params)
        return [row[0] for row in cursor.fetchall()]

    def claim_channels(self, cursor, by, where, channels, per, limit):
        params = self._params(by, per=per)
        filters = where_sql(where, params, _member)
        candidates = []  # (turn, order of the channel, id)
        for start in range(0, len(channels), CHANNELS_PER_STATEMENT):
            part = range(start, min(start + CHANNELS_PER_STATEMENT, len(channels)))
            sql = " UNION ALL ".join(
                CHANNEL_JOBS.format(order=order, filters=filters) for order in part
            )
            cursor.execute(sql, {**params, **{f"c{order}": channels[order] for order in part}})
            # Each channel's jobs in run order (a compound SELECT keeps no order).
            rows = sorted(cursor.fetchall(), key=lambda r: (r[0], -r[2], r[3], r[1]))
            turns: dict[int, int] = {}
            for order, job_id, _, _ in rows:
                turns[order] = turns.get(order, -1) + 1
                candidates.append((turns[order], order, job_id))
        picked = sorted(candidates)[:limit]
        if not picked:
            return [], None
        cursor.execute(
            CLAIM_IDS.format(columns=CLAIM_COLUMNS),
            {**params, "ids": json.dumps([job_id for _, _, job_id in picked])},
        )
        rows = cursor.fetchall()
        last = max(order for _, order, _ in picked)
        turns = {job_id: place for place, (_, _, job_id) in enumerate(picked)}
        jobs = self._finish_claim(cursor, by, [(r[0], r[1], *r[3:]) for r in rows], turns)
        return jobs, channels[last]

    def lock_queues(self, cursor, names) -> list[QueueLimit]:
        cursor.execute(LOCK_QUEUES, {"names": json.dumps(names)})
        return [
            QueueLimit(name, concurrency, rate, period, json.loads(starts or "[]"))
            for name, concurrency, rate, period, starts in cursor.fetchall()
        ]

    def anything_due(self, cursor, where) -> bool:
        params = {"now": self._ts(timezone.now())}
        cursor.execute(DUE_ANY.format(filters=where_sql(where, params, _member)), params)
        return bool(cursor.fetchone()[0])

    def lock_channel_policies(self, cursor, where, limit, after) -> list[ChannelLimit]:
        params = self._params(limit=limit, after=after)
        cursor.execute(LOCK_POLICIES.format(filters=where_sql(where, params, _member)), params)
        converter = self.connection.ops.convert_datetimefield_value
        return [
            ChannelLimit(
                name,
                concurrency,
                interval,
                None if last is None else converter(last, None, self.connection),
            )
            for name, concurrency, interval, last in cursor.fetchall()
        ]

    def running(self, cursor, column, names) -> dict[str, int]:
        assert column in ("queue", "channel")
        cursor.execute(RUNNING.format(column=column), {"names": json.dumps(names)})
        return dict(cursor.fetchall())

    def save_starts(self, cursor, starts) -> None:
        cursor.executemany(
            SAVE_STARTS,
            [(json.dumps(times), name) for name, times in starts.items()],
        )

    def mark_released(self, cursor, channels) -> None:
        cursor.execute(
            MARK_RELEASED,
            [self._params()["now"], json.dumps(channels)],
        )
