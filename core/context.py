"""JobContext: what a handler gets besides its payload."""

import threading
import time
from typing import Any

from django.utils import timezone

from core import conf
from core.exceptions import InvalidJobError
from core.jobspec import json_value
from core.models import Job, JobStatus

_UNSET = object()


class JobContext:
    """The running attempt of one job, passed to handlers as ``ctx``."""

    def __init__(
        self,
        *,
        job_id: int,
        job_type: str,
        queue: str,
        attempt: int,
        max_attempts: int,
        worker_id: str,
        timeout: float | None = None,
        abort_event: threading.Event | None = None,
    ) -> None:
        #: The job's id.
        self.job_id = job_id
        #: The job's type (the handler's name).
        self.job_type = job_type
        #: The queue it was claimed from.
        self.queue = queue
        #: 1 for the first run, 2 for the first retry...
        self.attempt = attempt
        #: Attempts the job gets in all.
        self.max_attempts = max_attempts
        #: Id of the worker running it.
        self.worker_id = worker_id
        #: Set when the job should stop: its deadline passed or it was cancelled.
        self.abort_event = abort_event or threading.Event()
        #: time.monotonic() at which the attempt times out, or None.
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self._output: Any = _UNSET
        self._progress_written_at = 0.0

    @classmethod
    def for_job(cls, job, worker_id: str, abort_event=None) -> "JobContext":
        """The context of a claimed job's attempt (a drivers.base.ClaimedJob)."""
        return cls(
            job_id=job.id,
            job_type=job.job_type,
            queue=job.queue,
            attempt=job.attempts,
            max_attempts=job.max_attempts,
            worker_id=worker_id,
            timeout=job.timeout,
            abort_event=abort_event,
        )

    def should_abort(self) -> bool:
        """True once the job's deadline passed or an operator cancelled it."""
        if self.abort_event.is_set():
            return True
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.abort_event.set()
            return True
        return False

    def set_progress(self, percent: float) -> None:
        """Record progress 0-100; writes are throttled (100 is always written)."""
        if isinstance(percent, bool) or not isinstance(percent, int | float):
            raise InvalidJobError(f"progress: must be a number from 0 to 100, got {percent!r}")
        if not 0 <= percent <= 100:
            raise InvalidJobError(f"progress: must be from 0 to 100, got {percent!r}")
        now = time.monotonic()
        if percent < 100 and now - self._progress_written_at < conf.get("PROGRESS_INTERVAL"):
            return
        self._progress_written_at = now
        Job.objects.filter(
            pk=self.job_id, status=JobStatus.PROCESSING, locked_by=self.worker_id
        ).update(progress=int(percent), updated_at=timezone.now())

    def set_output(self, data: Any) -> None:
        """Set the job's output (JSON); it wins over the handler's return value."""
        self._output = json_value("output", data)

    def output_or(self, returned: Any) -> Any:
        """The output set with set_output, else ``returned``."""
        return returned if self._output is _UNSET else self._output
