"""The claim, shared by both drivers: the queue and channel policies kept in the database.

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

Steps 2 to 5 (``policies``) run in one transaction, so the locks hold until the new jobs are
``processing`` and visible to the next claim's count.
"""

from collections.abc import Iterable
from dataclasses import replace

from core.drivers.claim.limits import channel_allowance, queue_allowance
from core.drivers.claim.policies import claim_with_policies
from core.drivers.claim.rotation import RoundRobin
from core.drivers.claim.steps import (
    ChannelLimit,
    Claim,
    ClaimedBy,
    ClaimSteps,
    QueueLimit,
    Snapshot,
)
from core.drivers.claim.where import Where, where_sql
from core.drivers.rows import ClaimedJob

__all__ = [
    "ChannelLimit",
    "Claim",
    "ClaimSteps",
    "ClaimedBy",
    "QueueLimit",
    "RoundRobin",
    "Snapshot",
    "Where",
    "channel_allowance",
    "claim",
    "queue_allowance",
    "where_sql",
]


def claim(
    steps: ClaimSteps,
    rotation: RoundRobin,
    worker_id: str,
    queues: Iterable[str] | None,
    job_types: Iterable[str] | None,
    limit: int,
    lease: float,
    channel: str | None = None,
) -> list[ClaimedJob]:
    """Claim up to ``limit`` jobs, keeping every queue and channel policy (only
    ``channel``'s jobs when it is given)."""
    by = ClaimedBy(worker_id, lease)
    served = None if queues is None else tuple(queues)
    base = Where(
        queues=served,
        job_types=None if job_types is None else tuple(job_types),
        channel=channel,
    )
    # Without policies, one statement; it still leaves out restricted jobs, so a
    # policy set since the snapshot holds.
    plain = replace(base, no_channel=channel is None, skip_restricted_queues=True)
    snap, jobs = steps.first_claim(by, plain, limit)
    if jobs is not None:
        return jobs
    blocked = tuple(sorted(snap.paused | snap.limited))
    with steps.claim_cursor(transactional=False) as cursor:
        # A read first: idle polls never open the write transaction.
        due = replace(base, exclude_queues=tuple(sorted(snap.paused)))
        if not steps.anything_due(cursor, due):
            return []
    with steps.claim_cursor(transactional=True) as cursor:
        return claim_with_policies(steps, cursor, rotation, snap, by, served, base, blocked, limit)
