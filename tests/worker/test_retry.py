"""The retry delay function: schedule, jitter bounds and cap (property tests)."""

import random

from hypothesis import given
from hypothesis import strategies as st

from core.worker.retry import JITTER, retry_delay

attempts = st.integers(min_value=1, max_value=200)
bases = st.floats(min_value=0, max_value=10_000, allow_nan=False)
caps = st.floats(min_value=0, max_value=100_000, allow_nan=False)
seeds = st.integers(min_value=0, max_value=2**32)


@given(attempts, bases, caps, seeds)
def test_exponential_delay_is_within_jitter_of_base_times_two_to_the_retries(n, base, cap, seed):
    delay = retry_delay(n, base=base, backoff="exponential", cap=cap, rand=random.Random(seed))
    expected = min(base * 2.0 ** (n - 1), cap)
    assert expected * (1 - JITTER) - 1e-9 <= delay <= min(expected * (1 + JITTER), cap) + 1e-9


@given(attempts, bases, caps, seeds)
def test_delay_never_exceeds_the_cap_nor_goes_below_zero(n, base, cap, seed):
    for backoff in ("fixed", "exponential"):
        delay = retry_delay(n, base=base, backoff=backoff, cap=cap, rand=random.Random(seed))
        assert 0 <= delay <= cap


@given(attempts, bases, seeds)
def test_fixed_delay_does_not_grow_with_attempts(n, base, seed):
    delay = retry_delay(n, base=base, backoff="fixed", cap=10**9, rand=random.Random(seed))
    assert base * (1 - JITTER) - 1e-9 <= delay <= base * (1 + JITTER) + 1e-9


def test_exponential_schedule_doubles_each_retry_without_jitter():
    class NoJitter(random.Random):
        def uniform(self, a, b):
            return 0.0

    delays = [retry_delay(n, base=10, cap=1000, rand=NoJitter()) for n in range(1, 9)]
    assert delays == [10, 20, 40, 80, 160, 320, 640, 1000]


def test_huge_attempt_counts_do_not_overflow():
    assert retry_delay(10_000, base=1, cap=60) <= 60
