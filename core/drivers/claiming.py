"""The claim with queue and channel policies, shared by both drivers.

What the drivers provide is SQL (``ClaimSteps``); the order of the steps and
the arithmetic of the limits live here, once:

1. A snapshot: paused and limited queues, whether channel policies exist and
   whether any pending job names a channel. With none of these the claim is
   the drivers' single plain statement, as before queues had policies.
2. Limited queues (max concurrency, rate limit): each one's row is locked
   for the claim's transaction (skipped if another worker holds it this
   moment), its running jobs counted, and what it may still start computed.
3. Channels with a policy (max concurrency, release interval): rows locked
   the same way; each channel starts at most what its policy allows.
4. Everything else is read round-robin: jobs without a channel count as one
   more channel, and the channels are visited in name order from where this
   worker's previous claim stopped (a skip scan over ``job_channel_idx``),
   each taking an equal share of the claim. Priority orders jobs within a
   channel; across channels, turns are taken.
5. Limited queues record their starts (a sliding window for the rate
   limit); channels with a release interval record their last start.

All of it runs in one transaction, so the locks hold until the new jobs are
``processing`` and visible to the next claim's count.
"""

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from core.drivers.base import ClaimedJob
from core.models.policies import release_wait, starts_in_window

#: Channels visited per claim by the round-robin, beyond the claim's limit
#: (channels whose jobs are not due or not served are visited but yield none).
SCAN_EXTRA = 8
#: Most channels visited per claim.
SCAN_MAX = 500
#: The rotation's place among the channels with a policy.
POLICIES = "policies"


@dataclass(frozen=True)
class Where:
    """Which pending jobs a claim statement may take."""

    queues: tuple[str, ...] | None = None
    job_types: tuple[str, ...] | None = None
    exclude_queues: tuple[str, ...] = ()
    #: True: only jobs without a channel.
    no_channel: bool = False
    #: Only jobs of this channel.
    channel: str | None = None
    #: Leave out jobs of channels that have a policy.
    skip_policy_channels: bool = False
    #: Leave out jobs of paused or limited queues (read at the claim, not snapshotted).
    skip_restricted_queues: bool = False


# Filters evaluated once per statement (a hashed subplan), not joined per row, so
# the planner keeps walking the claim index in order.
RESTRICTED_QUEUE = """queue NOT IN (
    SELECT name FROM core_queue
     WHERE paused OR max_concurrency IS NOT NULL OR rate_limit IS NOT NULL)"""
POLICY_CHANNEL = "(channel IS NULL OR channel NOT IN (SELECT name FROM core_channelpolicy))"

#: How a driver writes "column is one of these values": (column, parameter name,
#: values, params) -> SQL, putting the values into params.
Membership = Callable[[str, str, tuple[str, ...], dict], str]


def where_sql(where: Where, params: dict, member: Membership) -> str:
    """``AND …`` conditions on core_job for ``where`` (values go into ``params``)."""
    parts = []
    if where.queues is not None:
        if len(where.queues) == 1:
            # "=" for one queue lets the planner walk job_claim_idx in order.
            parts.append("queue = %(w_queue)s")
            params["w_queue"] = where.queues[0]
        else:
            parts.append(member("queue", "w_queues", where.queues, params))
    if where.exclude_queues:
        parts.append(f"NOT ({member('queue', 'w_exclude', where.exclude_queues, params)})")
    if where.job_types is not None:
        parts.append(member("job_type", "w_types", where.job_types, params))
    if where.no_channel:
        parts.append("channel IS NULL")
    if where.channel is not None:
        parts.append("channel = %(w_channel)s")
        params["w_channel"] = where.channel
    if where.skip_restricted_queues:
        parts.append(RESTRICTED_QUEUE)
    if where.skip_policy_channels:
        parts.append(POLICY_CHANNEL)
    return "".join(f" AND {part}" for part in parts)


@dataclass(frozen=True)
class QueueLimit:
    name: str
    max_concurrency: int | None
    rate_limit: int | None
    rate_period: float
    recent_starts: list[float]


@dataclass(frozen=True)
class ChannelLimit:
    name: str
    max_concurrency: int | None
    release_interval: float | None
    last_started_at: datetime | None


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    paused: frozenset[str]
    limited: frozenset[str]
    channel_policies: bool
    channel_jobs: bool


@dataclass
class Claim:
    """One claim in progress: what is left to take, and what was taken."""

    limit: int
    jobs: list[ClaimedJob] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.limit - len(self.jobs)

    def add(self, jobs: list[ClaimedJob]) -> list[ClaimedJob]:
        self.jobs.extend(jobs)
        return jobs


class ClaimSteps:
    """The SQL a driver provides for the claim (see PostgresDriver, SQLiteDriver)."""

    def claim_cursor(self, transactional: bool):
        """A context manager giving the cursor of a claim, in a transaction or not."""
        raise NotImplementedError

    def snapshot(self) -> Snapshot:
        raise NotImplementedError

    def clock(self, cursor) -> datetime:
        """The time the claim's starts are recorded at (the database clock)."""
        raise NotImplementedError

    def anything_due(self, cursor, where: Where) -> bool:
        """Whether any due pending job matches ``where`` (with or without a channel)."""
        raise NotImplementedError

    def plain_claim(self, cursor, worker_id: str, lease: float, where: Where, limit: int):
        """The claim without policies to keep: ``claim_where`` (a driver may check first
        that anything is due, to spare the write lock)."""
        return self.claim_where(cursor, worker_id, lease, where, limit)

    def claim_where(self, cursor, worker_id: str, lease: float, where: Where, limit: int):
        """Claim up to ``limit`` jobs matching ``where`` in run order."""
        raise NotImplementedError

    def scan_channels(self, cursor, after: str, count: int, upto: str | None = None) -> list[str]:
        """Up to ``count`` distinct channels with pending jobs, in name order after
        ``after`` (and not after ``upto``)."""
        raise NotImplementedError

    def claim_channels(
        self,
        cursor,
        worker_id: str,
        lease: float,
        where: Where,
        channels: list[str],
        per: int,
        limit: int,
    ) -> tuple[list[ClaimedJob], str | None]:
        """Up to ``per`` jobs of each channel, turn by turn, ``limit`` in all; also the
        last channel (in ``channels`` order) that got a job."""
        raise NotImplementedError

    def lock_queues(self, cursor, names: list[str]) -> list[QueueLimit]:
        """Lock the rows of these limited queues; rows another claim holds are skipped."""
        raise NotImplementedError

    def lock_channel_policies(
        self, cursor, where: Where, limit: int, after: str
    ) -> list[ChannelLimit]:
        """Lock up to ``limit`` channel policies that have due jobs matching ``where`` and
        may start one now, in name order from after ``after`` (wrapping round)."""
        raise NotImplementedError

    def running(self, cursor, column: str, names: list[str]) -> dict[str, int]:
        """Processing jobs per queue or channel (``column``)."""
        raise NotImplementedError

    def save_starts(self, cursor, starts: dict[str, list[float]]) -> None:
        raise NotImplementedError

    def mark_released(self, cursor, channels: list[str]) -> None:
        raise NotImplementedError


def _epoch(value: datetime) -> float:
    return value.timestamp()


def queue_allowance(row: QueueLimit, running: int, now: datetime) -> tuple[int, list[float]]:
    """How many jobs a limited queue may start now, and the starts to keep.

    The window is (now - period, now]; starts recorded by claims whose clock
    is later than ours count too. Starts are kept for two periods, not one:
    a claim whose transaction began a moment before another's (PostgreSQL's
    now() is the transaction's start) must still see every start of its own
    window after the other one saved.
    """
    allow = math.inf
    if row.max_concurrency is not None:
        allow = row.max_concurrency - running
    now_s = _epoch(now)
    kept = starts_in_window(row.recent_starts, 2 * row.rate_period, now_s)
    if row.rate_limit is not None:
        allow = min(allow, row.rate_limit - len(starts_in_window(kept, row.rate_period, now_s)))
    return max(int(min(allow, 1 << 30)), 0), kept


def channel_allowance(row: ChannelLimit, running: int, now: datetime) -> int:
    """How many jobs a channel with a policy may start now."""
    allow = math.inf
    if row.max_concurrency is not None:
        allow = row.max_concurrency - running
    if row.release_interval is not None:
        ready = release_wait(row.last_started_at, row.release_interval, now) == 0
        allow = min(allow, 1 if ready else 0)
    return max(int(min(allow, 1 << 30)), 0)


class RoundRobin:
    """A worker's places in its channel rotations (kept between its claims): one per
    group of jobs claimed together (the free queues, each limited queue), and one
    for the channels with a policy."""

    def __init__(self) -> None:
        self.places: dict[str, str] = {}


def _claim_group(
    steps: ClaimSteps,
    cursor,
    worker_id,
    lease,
    where: Where,
    claim: Claim,
    rotation: RoundRobin,
    group: str,
    channel_jobs: bool,
) -> None:
    """Fill ``claim`` from ``where``: jobs without a channel take one turn, then the
    channels after this group's place in the rotation, each an equal share.

    Channels with nothing to give (jobs not due, other queues) are passed over
    within the same claim, up to SCAN_MAX of them, so a run of idle tenants
    never makes a worker sleep while others have due jobs.
    """
    if claim.remaining <= 0:
        return
    unchanneled = replace(where, no_channel=True)
    if not channel_jobs:
        claim.add(steps.claim_where(cursor, worker_id, lease, unchanneled, claim.remaining))
        return
    start = rotation.places.get(group, "")
    after, wrapped, visited = start, False, 0
    share = None
    unchanneled_got: list[ClaimedJob] = []
    while claim.remaining > 0 and visited < SCAN_MAX:
        count = min(claim.remaining + SCAN_EXTRA, SCAN_MAX - visited)
        channels = steps.scan_channels(cursor, after, count, upto=start if wrapped else None)
        if not channels:
            if wrapped or not start:
                break
            wrapped, after = True, ""  # round to the first channel, up to where we began
            continue
        visited += len(channels)
        if share is None:
            share = math.ceil(claim.remaining / (min(len(channels), claim.remaining) + 1))
            unchanneled_got = claim.add(
                steps.claim_where(cursor, worker_id, lease, unchanneled, share)
            )
            if claim.remaining <= 0:
                break
        per = math.ceil(claim.remaining / min(len(channels), claim.remaining))
        jobs, last = steps.claim_channels(
            cursor, worker_id, lease, where, channels, per, claim.remaining
        )
        claim.add(jobs)
        after = channels[-1]
        rotation.places[group] = last if last is not None else after
    if share is None or (claim.remaining > 0 and len(unchanneled_got) == share):
        # No channel had due jobs, or they had less than their share: jobs
        # without a channel take the rest.
        claim.add(steps.claim_where(cursor, worker_id, lease, unchanneled, claim.remaining))


def claim(
    steps: ClaimSteps,
    rotation: RoundRobin,
    worker_id: str,
    queues: Iterable[str] | None,
    job_types: Iterable[str] | None,
    limit: int,
    lease: float,
) -> list[ClaimedJob]:
    """Claim up to ``limit`` jobs, keeping every queue and channel policy."""
    snap = steps.snapshot()
    served = None if queues is None else tuple(queues)
    base = Where(queues=served, job_types=None if job_types is None else tuple(job_types))
    blocked = tuple(sorted(snap.paused | snap.limited))
    if not blocked and not snap.channel_policies and not snap.channel_jobs:
        # One statement; it still leaves out restricted jobs, so a policy set
        # since the snapshot holds.
        plain = replace(base, no_channel=True, skip_restricted_queues=True)
        with steps.claim_cursor(transactional=False) as cursor:
            return steps.plain_claim(cursor, worker_id, lease, plain, limit)
    with steps.claim_cursor(transactional=False) as cursor:
        # A read first: idle polls never open the write transaction.
        due = replace(base, exclude_queues=tuple(sorted(snap.paused)))
        if not steps.anything_due(cursor, due):
            return []
    with steps.claim_cursor(transactional=True) as cursor:
        return _claim_with_policies(
            steps, cursor, rotation, snap, worker_id, served, base, blocked, limit, lease
        )


def _claim_with_policies(
    steps: ClaimSteps,
    cursor,
    rotation: RoundRobin,
    snap: Snapshot,
    worker_id: str,
    served: tuple[str, ...] | None,
    base: Where,
    blocked: tuple[str, ...],
    limit: int,
    lease: float,
) -> list[ClaimedJob]:
    result = Claim(limit)
    snap = replace(snap, now=steps.clock(cursor))
    base = replace(base, skip_policy_channels=snap.channel_policies)

    # Limited queues this worker serves: what each may still start.
    limited = [q for q in sorted(snap.limited - snap.paused) if served is None or q in served]
    rows = steps.lock_queues(cursor, limited) if limited else []
    running = steps.running(cursor, "queue", [r.name for r in rows]) if rows else {}
    allowances, windows = {}, {}
    for row in rows:
        allowances[row.name], windows[row.name] = queue_allowance(
            row, running.get(row.name, 0), snap.now
        )
    limits = {row.name: row for row in rows}
    started: dict[str, int] = {}

    def taken(jobs: list[ClaimedJob]) -> None:
        for job in jobs:
            if job.queue in allowances:
                allowances[job.queue] -= 1
                started[job.queue] = started.get(job.queue, 0) + 1

    # Channels with a policy, in free queues or limited queues with room left.
    if snap.channel_policies:
        free = replace(
            base, exclude_queues=blocked, skip_policy_channels=False, skip_restricted_queues=True
        )
        policies = steps.lock_channel_policies(
            cursor,
            replace(base, exclude_queues=tuple(sorted(snap.paused)), skip_policy_channels=False),
            result.limit,
            rotation.places.get(POLICIES, ""),
        )
        if policies:
            rotation.places[POLICIES] = policies[-1].name
        busy = steps.running(cursor, "channel", [p.name for p in policies]) if policies else {}
        released = []
        for policy in policies:
            allow = min(
                channel_allowance(policy, busy.get(policy.name, 0), snap.now), result.remaining
            )
            if allow <= 0:
                continue
            got = result.add(
                steps.claim_where(
                    cursor, worker_id, lease, replace(free, channel=policy.name), allow
                )
            )
            for queue in sorted(q for q, room in allowances.items() if room > 0):
                if len(got) >= allow:
                    break
                only = replace(
                    base, queues=(queue,), channel=policy.name, skip_policy_channels=False
                )
                more = result.add(
                    steps.claim_where(
                        cursor, worker_id, lease, only, min(allow - len(got), allowances[queue])
                    )
                )
                taken(more)
                got = got + more
            if got:
                released.append(policy.name)
        if released:
            steps.mark_released(cursor, released)

    # Limited queues' own jobs, round-robin across their channels.
    for name in sorted(allowances):
        room = min(allowances[name], result.remaining)
        if room <= 0:
            continue
        part = Claim(room)
        _claim_group(
            steps,
            cursor,
            worker_id,
            lease,
            replace(base, queues=(name,)),
            part,
            rotation,
            f"queue:{name}",
            snap.channel_jobs,
        )
        taken(result.add(part.jobs))

    # Everything else.
    _claim_group(
        steps,
        cursor,
        worker_id,
        lease,
        replace(base, exclude_queues=blocked, skip_restricted_queues=True),
        result,
        rotation,
        "",
        snap.channel_jobs,
    )

    if started or windows:
        now = _epoch(snap.now)
        steps.save_starts(
            cursor,
            {
                name: (windows[name] + [now] * started.get(name, 0))
                if limits[name].rate_limit is not None
                else []
                for name in windows
                if started.get(name) or windows[name] != limits[name].recent_starts
            },
        )
    return result.jobs
