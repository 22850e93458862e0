"""How long a failed job waits before its next attempt."""

import random

from core.models import RetryBackoff
from core.validation import MAX_SECONDS

#: Fraction of the delay added or removed at random, so retries don't stampede.
JITTER = 0.1


def retry_delay(
    attempts: int,
    *,
    base: float,
    backoff: str = RetryBackoff.EXPONENTIAL,
    cap: float = 3600.0,
    rand: random.Random | None = None,
) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt.

    fixed: ``base``. exponential: ``base * 2**(attempts - 1)``, so the first
    retry waits ``base``, the next 2x, then 4x... Each delay gets ±10% jitter,
    and is never above ``cap`` (nor MAX_SECONDS, whatever a row stored before that
    bound holds: the retry time ``now + delay`` never overflows) nor below zero.
    """
    cap = min(cap, MAX_SECONDS) if cap == cap else MAX_SECONDS  # NaN: no usable cap
    base = min(base, cap) if base == base else 0.0
    delay = base if backoff == RetryBackoff.FIXED else base * 2.0 ** min(max(attempts - 1, 0), 1000)
    delay = min(delay, cap)
    jitter = (rand or random).uniform(-JITTER, JITTER) * delay
    return max(0.0, min(delay + jitter, cap))
