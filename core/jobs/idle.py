"""wait_idle: block until the queues have nothing due left to run and nothing running."""

import time

from django.db.models import Q
from django.db.models.functions import Now

from core.models import Job, JobStatus

#: First and longest pause between two looks (the pause doubles while jobs remain).
FIRST_POLL, MAX_POLL = 0.01, 0.5


def busy_jobs(queues: list[str] | None = None):
    """The jobs ``wait_idle`` waits for: due pending ones and processing ones."""
    jobs = Job.objects.filter(
        Q(status=JobStatus.PROCESSING) | Q(status=JobStatus.PENDING, run_at__lte=Now())
    )
    return jobs if queues is None else jobs.filter(queue__in=queues)


def wait_idle(timeout: float | None = None, queues: list[str] | None = None) -> None:
    """Return once no job of ``queues`` (None: every queue) is due and pending or
    processing; jobs scheduled for later, waiting or finished do not count. Raises
    TimeoutError after ``timeout`` seconds (None: waits for as long as it takes)."""
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0
    ):
        raise ValueError(f"timeout: must be zero or more seconds or None, got {timeout!r}")
    if queues is not None and (
        isinstance(queues, str) or not all(isinstance(q, str) and q for q in queues)
    ):
        raise ValueError(f"queues: must be a list of queue names or None, got {queues!r}")
    names = list(queues) if queues is not None else None
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = FIRST_POLL
    while busy_jobs(names).exists():
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            left = busy_jobs(names).count()
            raise TimeoutError(
                f"{left} jobs still due or running after {timeout:g}s"
                + (f" in queues {', '.join(names)}" if names is not None else "")
            )
        wait = pause if deadline is None else min(pause, deadline - now)
        time.sleep(max(wait, 0))
        pause = min(pause * 2, MAX_POLL)
