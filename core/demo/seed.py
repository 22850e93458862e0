"""Bulk-create realistic jobs in every status, for dashboard scale tests and demos.

Rows come from one seeded ``random.Random`` and stream into the driver's ``copy_rows`` (COPY
on PostgreSQL) in chunks, in one transaction, with ids after every existing job."""

import json
import math
import random
import time
from collections import namedtuple
from datetime import UTC, datetime, timedelta
from itertools import accumulate

from django.db import connections, transaction

from core.drivers import get_driver
from core.models import Job, JobEvent

JOB_COLUMNS = (
    "id", "job_type", "queue", "channel", "payload", "status", "priority", "run_at", "attempts",
    "max_attempts", "retry_delay", "retry_backoff", "retry_delay_max", "timeout",
    "force_kill_on_timeout", "tags", "idempotency_key", "progress", "output", "errors",
    "step_data", "wait_until", "wait_token", "depends_on", "dead_letter_job_type", "locked_by",
    "locked_until", "created_at", "updated_at", "started_at", "completed_at", "failed_at",
    "cancelled_at",
)  # fmt: skip
EVENT_COLUMNS = ("job_id", "type", "at", "metadata")
CHUNK = 100_000

#: A seeded job type: its queue, share, mean run seconds, timeout, and what it carries
#: (payload and output: str.format templates of two numbers; error: type and message).
JobType = namedtuple("JobType", "name queue weight run timeout payload output error")
JOB_TYPES = tuple(JobType(*spec) for spec in (
    ("webhooks.deliver", "webhooks", 26, 0.4, 30,
     '{{"url": "https://hooks.example.com/t/{1}", "event": "order.paid", "order_id": {0}}}',
     '{{"status": 200, "ms": {1}}}', ("requests.HTTPError", "503 Service Unavailable")),
    ("emails.send_welcome", "emails", 15, 0.6, 60,
     '{{"user_id": {0}, "email": "user{0}@example.com", "template": "welcome"}}',
     '{{"message_id": "<{0}.{1}@mail.example.com>"}}', ("smtplib.SMTPException", "timed out")),
    ("emails.send_receipt", "emails", 12, 0.5, 60,
     '{{"order_id": {0}, "email": "buyer{1}@example.com", "amount_cents": {1}}}',
     '{{"message_id": "<{1}.{0}@mail.example.com>"}}', ("smtplib.SMTPException", "550 no user")),
    ("notifications.push", "default", 12, 0.2, 15,
     '{{"user_id": {0}, "title": "Your order shipped", "badge": {1}}}',
     '{{"delivered": true, "devices": 2}}', ("apns.BadDeviceToken", "device token expired")),
    ("images.resize", "default", 12, 2.5, 120,
     '{{"image_id": {0}, "url": "https://cdn.example.com/u/{1}.jpg", "sizes": [64, 512]}}',
     '{{"variants": 2, "bytes": {1}}}', ("PIL.UnidentifiedImageError", "not an image")),
    ("search.reindex", "default", 8, 6.0, 300,
     '{{"index": "products", "doc_id": {0}, "batch": {1}}}', '{{"indexed": {1}}}',
     ("elasticsearch.ConnectionTimeout", "connection timed out after 10s")),
    ("billing.charge_card", "billing", 7, 1.5, 60,
     '{{"customer_id": "cus_{0}", "amount_cents": {1}, "currency": "usd"}}',
     '{{"charge_id": "ch_{0}{1}", "status": "paid"}}', ("billing.CardDeclined", "card declined")),
    ("billing.sync_invoices", "billing", 3, 12.0, 600,
     '{{"account_id": {0}, "since": "2026-01-01", "page_size": 100}}',
     '{{"synced": {1}}}', ("billing.RateLimited", "429 Too Many Requests")),
    ("reports.generate", "reports", 3, 45.0, 900,
     '{{"report": "weekly_sales", "account_id": {0}, "format": "pdf"}}',
     '{{"url": "https://files.example.com/r/{0}.pdf", "pages": {1}}}', ("MemoryError", "too big")),
    ("exports.csv", "reports", 2, 90.0, 1800,
     '{{"export": "customers", "account_id": {0}, "requested_by": {1}}}',
     '{{"url": "https://files.example.com/x/{0}.csv", "rows": {1}}}', ("OSError", "disk full")),
))  # fmt: skip
TYPE_CUM = list(accumulate(jt.weight for jt in JOB_TYPES))
#: Mean seconds a due job waits for a worker, per queue.
QUEUE_WAIT = {"default": 1.5, "emails": 3.0, "webhooks": 0.8, "billing": 1.0, "reports": 20.0}
#: Per mille of jobs of each kind; due, scheduled and retrying jobs are pending.
KINDS = {"completed": 850, "failed": 40, "cancelled": 20, "due": 20, "scheduled": 20,
         "retrying": 20, "processing": 10, "waiting": 20}  # fmt: skip
KIND_NAMES, KIND_CUM = tuple(KINDS), list(accumulate(KINDS.values()))
STATUS = {kind: "pending" if kind in ("due", "scheduled", "retrying") else kind for kind in KINDS}
TAGS = ("tenant:acme", "tenant:globex", "tenant:initech", "api", "cron", "backfill", "vip", "beta")
TAG_POOL = ["[]"] * 55 + [json.dumps([TAGS[i % 8]]) for i in range(35)]
TAG_POOL += [json.dumps([TAGS[i % 3], TAGS[3 + i % 5]]) for i in range(10)]
#: Ten rare tags, ``tenant:1`` to ``tenant:10``, each on 0.1% of the jobs (rare-tag searches).
RARE_TAGS = tuple(f"tenant:{n}" for n in range(1, 11))
TAG_POOL = TAG_POOL * 10
for n, rare in enumerate(RARE_TAGS):
    TAG_POOL[n * 97] = json.dumps([*json.loads(TAG_POOL[n * 97]), rare])
#: Every payload carries ``"customer": n``, n log-uniform in 1..CUSTOMERS-1: customer 1 is on
#: 7.5% of the jobs, customer 1000 on 0.001% (payload searches, common and rare).
CUSTOMERS = 10_000
PRIORITY_POOL = [0] * 85 + [-10] * 3 + [-5] * 2 + [5] * 3 + [10] * 4 + [20] * 2 + [50]
WORKERS = tuple(f"seed-host-{h}:{1200 + 37 * h}" for h in range(1, 7))
#: Share of the jobs created in the last hour (so recent charts and percentiles have data).
RECENT_SHARE = 0.02
MAX_ATTEMPTS, RETRY_DELAY, RETRY_DELAY_MAX, RETRY_BACKOFF = (
    Job._meta.get_field(name).default
    for name in ("max_attempts", "retry_delay", "retry_delay_max", "retry_backoff")
)
RETRY_BACKOFF = str(RETRY_BACKOFF)
ADDED_META = '{"seeded": true}'
PROCESSING_META = {
    (w, n): json.dumps({"worker": w, "attempt": n}) for w in WORKERS for n in (1, 2, 3)
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE_SECOND = [f"{m:02d}:{s:02d}" for m in range(60) for s in range(60)]
#: What seed_jobs wrote: counts (statuses: jobs per status), the id range and the time taken.
SeedResult = namedtuple("SeedResult", "jobs events statuses first_id last_id seconds")


def instant(t: float) -> datetime:
    """The aware datetime of epoch seconds ``t``, truncated to microseconds as seeded."""
    return EPOCH + timedelta(microseconds=int(t * 1e6))


def timestamp_text(adapt):
    """A fast function from epoch seconds to the text the database stores for
    ``adapt(instant(t))`` (``adapt``: ``connection.ops.adapt_datetimefield_value``)."""
    probe = instant(1e9 + 0.25)
    suffix = "+00" if adapt(probe) is probe else ""  # PostgreSQL: aware; SQLite: naive UTC
    hours = {}

    def text(t: float) -> str:
        hour, us = divmod(int(t * 1e6), 3_600_000_000)
        prefix = hours.get(hour)
        if prefix is None:
            prefix = hours[hour] = f"{EPOCH + timedelta(hours=hour):%Y-%m-%d %H}:"
        second, micro = divmod(us, 1_000_000)
        fraction = f".{micro:06d}" if micro else ""  # as str(datetime): none when zero
        return f"{prefix}{MINUTE_SECOND[second]}{fraction}{suffix}"

    if suffix or all(text(t) == adapt(instant(t)) for t in (1e9 + 0.25, 1.7e9)):
        return text
    return lambda t: adapt(instant(t))  # some other text format: use Django's own


def _place(start: float, durations: list[float], end: float, active: bool) -> list[float]:
    """Times at ``start`` then after each duration, squeezed to finish by ``end``; an
    active job's history is moved up to end at ``end`` (its run was scheduled)."""
    total = sum(durations)
    if active:
        start = max(start, end - total)
    room = max(end - start, 0.0)
    factor = room / total if total > room else 1.0
    times = [start]
    for d in durations:
        start += d * factor
        times.append(start)
    return times


def _error(jt: JobType, attempt: int, at: float, timed_out: bool) -> dict:
    """The errors[] entry of a failed attempt, as the worker writes it."""
    kind, message = jt.error
    if timed_out:
        kind, message = "TimeoutError", f"job exceeded its timeout of {jt.timeout:g}s"
    module, func = jt.name.split(".")
    return {"attempt": attempt, "at": instant(at).isoformat(), "message": message, "type": kind,
            "traceback": f'Traceback (most recent call last):\n  File "/app/{module}/tasks.py", '
            f"line 42, in {func}\n    result = client.call(payload)\n{kind}: {message}\n",
            "reason": "timeout" if timed_out else "handler_error"}  # fmt: skip


class _Generator:
    """Makes the rows of one seeding run, chunk by chunk."""

    def __init__(self, count: int, first_id: int, rng: random.Random, days: float, ts) -> None:
        self.first_id, self.rng, self.ts = first_id, rng, ts
        self.now = now = time.time()
        span = days * 86400.0
        recent = min(3600.0, span / 2)
        self.n_old = n_old = count - round(count * RECENT_SHARE)
        self.old = (now - span, (span - recent) / max(n_old, 1))
        self.new = (now - recent, recent / max(count - n_old, 1))
        self.statuses = dict.fromkeys(STATUS.values(), 0)

    def _tries(self, jt: JobType, failures: int, last: float | None) -> tuple[list, list]:
        """Durations (wait, run, backoff, wait, run…) of ``failures`` failed attempts,
        then a last run of ``last`` seconds (None: none); and which attempts timed out."""
        rnd, wait = self.rng.random, QUEUE_WAIT[jt.queue]
        durations, timeouts = [], []
        for n in range(1, failures + 1):
            timed_out = rnd() < 0.2
            timeouts.append(timed_out)
            run = jt.timeout if timed_out else min(jt.run * -math.log(1 - rnd()), jt.timeout)
            delay = min(RETRY_DELAY * 2 ** (n - 1), RETRY_DELAY_MAX) * (0.9 + 0.2 * rnd())
            durations += [wait * -math.log(1 - rnd()), run, delay]
        if last is None:
            durations.pop()
        else:
            durations += [wait * -math.log(1 - rnd()), last]
        return durations, timeouts

    def jobs(self, lo: int, hi: int, events: list | None):
        """Yield the rows of jobs number ``lo`` to ``hi`` (exclusive); add their events'
        rows to ``events`` unless it is None."""
        rng, ts, now, first_id, n_old = self.rng, self.ts, self.now, self.first_id, self.n_old
        rnd, log, place, statuses = rng.random, math.log, _place, self.statuses
        kinds = rng.choices(KIND_NAMES, cum_weights=KIND_CUM, k=hi - lo)
        types = rng.choices(JOB_TYPES, cum_weights=TYPE_CUM, k=hi - lo)
        (old_base, old_step), (new_base, new_step) = self.old, self.new
        for i, kind, jt in zip(range(lo, hi), kinds, types, strict=True):
            job_id = first_id + i
            if i < n_old:
                c = old_base + (i + rnd()) * old_step
            else:
                c = new_base + (i - n_old + rnd()) * new_step
            run_at = updated = created = ts(c)
            a, b = job_id * 7919 % 900_000 + 100_000, int(rnd() * 99_000) + 1000
            worker = WORKERS[int(rnd() * 6)]
            started = completed = failed = cancelled = wait_until = locked_until = None
            locked_by = output = final = tries = None
            attempts = progress = 0
            errors, timeouts = "[]", ()
            if kind == "completed":
                run = min(jt.run * -log(1 - rnd()), jt.timeout)  # some on a second attempt:
                durations, timeouts = self._tries(jt, rnd() < 0.03, run)
                tries = place(c, durations, now, False)
                attempts, progress, output = len(timeouts) + 1, 100, jt.output.format(a, b)
                completed = updated = ts(tries[-1])
                final = ("completed", completed, "{}")
            elif kind == "failed":
                durations, timeouts = self._tries(jt, MAX_ATTEMPTS, None)
                tries, attempts = place(c, durations, now, False), MAX_ATTEMPTS
                failed = updated = ts(tries[-1])
                final = ("failed", failed, "{}")
            elif kind == "retrying":  # in backoff: run_at is the next attempt's
                attempts = 1 + (rnd() < 0.4)
                durations, timeouts = self._tries(jt, attempts, None)
                delay = min(RETRY_DELAY * 2 ** (attempts - 1), RETRY_DELAY_MAX)
                tries = place(c, durations, now - rnd() * delay, True)
                updated = ts(tries[-1])
                tries.append(tries[-1] + delay)
            elif kind == "processing":
                attempts = 1 + (rnd() < 0.1)
                durations, timeouts = self._tries(jt, attempts - 1, 0.0)
                tries = place(c, durations, now - rnd() * min(jt.timeout, 240.0), True)
                locked_by, locked_until = worker, ts(now + 60 + rnd() * 240)
                progress = int(rnd() * 101)
            elif kind == "waiting":
                tries = place(c, self._tries(jt, 0, rnd() * jt.run)[0], now, False)
                attempts, progress = 1, int(rnd() * 60)
                updated, wait_until = ts(tries[2]), ts(now + 60 + rnd() * 172_800)
                final = ("waiting", updated, "{}")
            elif kind == "cancelled":
                if rnd() < 0.7:  # before it ran
                    cancelled = ts(place(c, [5 + rnd() * 7200], now, False)[1])
                else:
                    tries = place(c, self._tries(jt, 0, rnd() * jt.run)[0], now, False)
                    attempts, cancelled = 1, ts(tries[2])
                updated, final = cancelled, ("cancelled", cancelled, "{}")
            elif kind == "due":
                run_at = ts(place(c, [], now - rnd() * 900, True)[0])
            else:  # scheduled
                run_at = ts(now + 60 + rnd() * 259_200)
            if tries is not None:
                # run_at, start, end of each attempt (+ the next run_at when retrying).
                last = 3 * (attempts - 1)
                if last or tries[0] != c:
                    run_at = ts(tries[-1] if kind == "retrying" else tries[last])
                started = ts(tries[last + 1])
                if kind == "processing":
                    updated = started
                if timeouts:
                    errs = [_error(jt, n + 1, tries[3 * n + 2], t) for n, t in enumerate(timeouts)]
                    errors = json.dumps(errs)
            if events is not None:
                events.append((job_id, "added", created, ADDED_META))
                for n in range(attempts):
                    at = started if n == attempts - 1 else ts(tries[3 * n + 1])
                    events.append((job_id, "processing", at, PROCESSING_META[worker, n + 1]))
                    if n < len(timeouts) and (n < attempts - 1 or kind == "retrying"):
                        events.append((job_id, "retried", ts(tries[3 * n + 2]), "{}"))
                if final is not None:
                    events.append((job_id, *final))
            status = STATUS[kind]
            statuses[status] += 1
            yield (
                job_id, jt.name, jt.queue, None,
                f'{{"customer": {int(CUSTOMERS ** rnd())}, {jt.payload.format(a, b)[1:]}', status,
                PRIORITY_POOL[int(rnd() * 100)], run_at, attempts, MAX_ATTEMPTS, RETRY_DELAY,
                RETRY_BACKOFF, RETRY_DELAY_MAX, jt.timeout, False, TAG_POOL[int(rnd() * 1000)],
                f"seed-{job_id}" if rnd() < 0.1 else None, progress, output, errors, "{}",
                wait_until, None, "[]", None, locked_by, locked_until, created, updated, started,
                completed, failed, cancelled,
            )  # fmt: skip


def seed_jobs(
    count: int, *, events: bool = True, seed: int | None = None, days: float = 7.0,
    chunk: int = CHUNK, using: str = "default",
) -> SeedResult:  # fmt: skip
    """Insert ``count`` realistic jobs in every status (and their events) after all others."""
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        raise ValueError(f"count must be a positive number of jobs, not {count!r}")
    if not 0 < days <= 3650:
        raise ValueError(f"days must be more than 0 and at most 3650, not {days!r}")
    began = time.monotonic()
    driver, table, event_table = get_driver(using), Job._meta.db_table, JobEvent._meta.db_table
    ts = timestamp_text(connections[using].ops.adapt_datetimefield_value)
    written = 0
    with transaction.atomic(using=using), driver.bulk_load(event_table):
        first_id = driver.reserve_ids(table, count)
        gen = _Generator(count, first_id, random.Random(seed), days, ts)
        for lo in range(0, count, chunk):
            # Rows are made while the database loads them; the events follow.
            rows: list | None = [] if events else None
            driver.copy_rows(table, JOB_COLUMNS, gen.jobs(lo, min(lo + chunk, count), rows))
            if rows:
                written += driver.copy_rows(event_table, EVENT_COLUMNS, rows)
        driver.reset_sequence(table)
    driver.analyze()
    return SeedResult(
        count, written, gen.statuses, first_id, first_id + count - 1, time.monotonic() - began
    )
