"""How many jobs a limited queue or a channel with a policy may start now."""

import math
from datetime import datetime

from core.drivers.claim.steps import ChannelLimit, QueueLimit
from core.models.policies import release_wait, starts_in_window


def epoch(value: datetime) -> float:
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
    now_s = epoch(now)
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
