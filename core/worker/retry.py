"""How long a failed job waits before its next attempt."""

import random

from core.models import RetryBackoff

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
    and is never above ``cap`` nor below zero.
    """
    delay = base if backoff == RetryBackoff.FIXED else base * 2.0 ** min(max(attempts - 1, 0), 1000)
    delay = min(delay, cap)
    jitter = (rand or random).uniform(-JITTER, JITTER) * delay
    return max(0.0, min(delay + jitter, cap))
