"""JobContext: what a handler gets besides its payload."""

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from core import conf
from core.durable import tokens
from core.durable.waits import AwaitToken, Defer, Sleep
from core.durations import add_months
from core.exceptions import InvalidJobError, StepError
from core.models import EventType, Job, JobEvent, JobStatus, WaitToken
from core.models.jobs import event_metadata
from core.validation import Checks

_UNSET = object()
logger = logging.getLogger("queueadmin.worker")
check = Checks(InvalidJobError)


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
        channel: str | None = None,
    ) -> None:
        #: The job's id.
        self.job_id = job_id
        #: The job's type (the handler's name).
        self.job_type = job_type
        #: The queue it was claimed from.
        self.queue = queue
        #: Its channel (None: it has none).
        self.channel = channel
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
        #: Seconds the job may run (its timeout), the default of ``prolong()``.
        self.timeout = timeout
        #: What the worker's per-thread setup yielded for the thread running this job
        #: (the WORKER_SETUP setting or ``@core.handlers.worker_setup``); None without
        #: one, and in the child process of a ``force_kill_on_timeout`` job.
        self.resources: Any = None
        self._output: Any = _UNSET
        self._progress_written_at = 0.0
        self._progress_event: tuple[float, int] | None = None  # (monotonic, value) of the last
        self._steps: dict[str, Any] | None = None  # step_data, loaded on first use
        self._state: Any = _UNSET
        self._names_run: set[str] = set()
        self._waits = 0
        self._tokens = 0
        self._on_timeout: Callable[[], Any] | None = None
        self._timeout_lock = threading.Lock()  # the worker and the handler may both ask
        #: time.monotonic() of the handler's last call into ctx (0: none yet); the
        #: worker's thread pings read it to tell a stuck thread (core.worker.pings).
        self.reported_at = 0.0

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
            channel=job.channel,
        )

    def heartbeat(self) -> None:
        """Tell the worker this handler is alive (no database write): a job without a
        timeout that reports nothing for STUCK_SECONDS is flagged stuck."""
        self.reported_at = time.monotonic()

    def should_abort(self) -> bool:
        """True once the job's deadline passed or an operator cancelled it."""
        self.reported_at = time.monotonic()
        if self.abort_event.is_set():
            return True
        if self.deadline is not None and time.monotonic() >= self.deadline:
            if self.extend_on_timeout():
                return False
            self.abort_event.set()
            return True
        return False

    def set_progress(self, percent: float) -> None:
        """Record progress 0-100; writes are throttled (100 is always written)."""
        self.reported_at = time.monotonic()
        if isinstance(percent, bool) or not isinstance(percent, int | float):
            raise InvalidJobError(f"progress: must be a number from 0 to 100, got {percent!r}")
        if not 0 <= percent <= 100:
            raise InvalidJobError(f"progress: must be from 0 to 100, got {percent!r}")
        now = time.monotonic()
        if percent < 100 and now - self._progress_written_at < conf.get("PROGRESS_INTERVAL"):
            return
        self._progress_written_at = now
        updated = Job.objects.filter(
            pk=self.job_id, status=JobStatus.PROCESSING, locked_by=self.worker_id
        ).update(progress=int(percent), updated_at=timezone.now())
        if updated:
            self._progress_history(int(percent), now)

    def _progress_history(self, value: int, now: float) -> None:
        """Write a ``progress`` event for a changed value: the first one, then at most
        one per PROGRESS_EVENT_INTERVAL seconds (None: never)."""
        interval = conf.get("PROGRESS_EVENT_INTERVAL")
        last = self._progress_event
        if interval is None or (
            last is not None and (last[1] == value or now - last[0] < interval)
        ):
            return
        self._progress_event = (now, value)
        JobEvent.objects.create(
            job_id=self.job_id,
            type=EventType.PROGRESS,
            metadata=event_metadata(progress=value, attempt=self.attempt),
        )

    def set_output(self, data: Any) -> None:
        """Set the job's output (JSON); it wins over the handler's return value."""
        self.reported_at = time.monotonic()
        self._output = check.json("output", data)

    def output_or(self, returned: Any) -> Any:
        """The output set with set_output, else ``returned``."""
        return returned if self._output is _UNSET else self._output

    # -- durable steps and waits -------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        if self._steps is None:
            steps, state = Job.objects.values_list("step_data", "state").get(pk=self.job_id)
            self._steps = dict(steps or {})
            if self._state is _UNSET:
                self._state = state
        return self._steps

    def _save_steps(self) -> None:
        Job.objects.filter(
            pk=self.job_id, status=JobStatus.PROCESSING, locked_by=self.worker_id
        ).update(step_data=self._steps, updated_at=timezone.now())

    @property
    def state(self) -> Any:
        """The state saved by the last ``ctx.defer(state=...)``, or None."""
        self._load()
        return self._state

    def run(self, step_name: str, fn: Callable[[], Any]) -> Any:
        """Run ``fn()`` once for this job and return its (JSON) result.

        The result is stored in the job's step data as soon as ``fn`` returns;
        when the handler runs again (after a wait, a retry or a crash) the
        stored result is returned without calling ``fn``.
        """
        self.reported_at = time.monotonic()
        if not isinstance(step_name, str) or not step_name or step_name.startswith("__"):
            raise StepError(
                f"step name must be a non-empty string not starting with '__', got {step_name!r}"
            )
        if step_name in self._names_run:
            raise StepError(f"step {step_name!r} already ran in this run of job {self.job_id}")
        self._names_run.add(step_name)
        steps = self._load()
        if step_name in steps:
            return steps[step_name]
        result = check.json(f"step {step_name!r} result", fn())
        steps[step_name] = result
        self._save_steps()
        return result

    def wait_for(
        self,
        duration: float | str | timedelta | None = None,
        /,
        *,
        seconds: float = 0,
        minutes: float = 0,
        hours: float = 0,
        days: float = 0,
        weeks: float = 0,
        months: int = 0,
        years: int = 0,
    ) -> None:
        """Park the job for this long, freeing the worker; the handler then runs
        again from the top (its finished steps replayed) and returns from here.

        ``duration`` is a duration (``"15m"``, ``"2d"``, seconds, a timedelta);
        months and years are calendar ones, counted in the current timezone
        (settings.TIME_ZONE), the wall-clock time kept: Jan 31 + 1 month = Feb 28."""
        span = timedelta()
        if duration is not None:
            span = timedelta(seconds=check.seconds("wait_for", duration))
        for name, value in (("months", months), ("years", years)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidJobError(
                    f"wait_for: {name} must be a whole number >= 0, got {value!r}"
                )
        try:
            span += timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days, weeks=weeks)
        except (TypeError, OverflowError):
            raise InvalidJobError(
                "wait_for: seconds, minutes, hours, days and weeks must be numbers"
            ) from None
        if span.total_seconds() < 0:
            raise InvalidJobError(f"wait_for: the time must not be negative, got {span}")

        def wake() -> datetime:
            moment = timezone.localtime(timezone.now())
            try:
                return add_months(moment, months + 12 * years) + span
            except OverflowError:
                raise InvalidJobError("wait_for: the wake-up time is out of range") from None

        self._wait(wake)

    def wait_until(self, moment: datetime) -> None:
        """Park the job until ``moment`` (timezone-aware), freeing the worker."""
        if not isinstance(moment, datetime) or timezone.is_naive(moment):
            raise InvalidJobError(f"wait_until: needs a timezone-aware datetime, got {moment!r}")
        self._wait(lambda: moment)

    def _wait(self, until: Callable[[], datetime]) -> None:
        self._waits += 1
        key = f"__wait:{self._waits}"
        steps = self._load()
        if key in steps:  # this wait was started in an earlier run
            wake = datetime.fromisoformat(steps[key])
            if timezone.now() >= wake:
                return
        else:
            wake = until()
            steps[key] = wake.isoformat()
        raise Sleep(until=wake, key=key)

    def create_token(self, *, timeout: float | timedelta | None = None, tags=None) -> WaitToken:
        """A token (unguessable id) someone completes to wake this job; the same
        token again when the handler re-runs."""
        self._tokens += 1
        key = f"__token:{self._tokens}"
        steps = self._load()
        if key in steps:
            return tokens.get_token(steps[key])
        token = tokens.create_token(self.job_id, timeout=timeout, tags=tags)
        steps[key] = token.id
        self._save_steps()
        return token

    def wait_for_token(self, token: WaitToken | str) -> tokens.TokenResult:
        """Park the job until the token is completed or times out; return the
        result (``ok``, ``output``, ``error``)."""
        token = tokens.get_token(token if isinstance(token, str) else token.pk)
        result = tokens.result_of(token)
        if result is not None:
            return result
        raise AwaitToken(token_id=token.pk)

    def defer(self, delay: float | timedelta, state: Any = None) -> None:
        """End this run without counting a failure and run again after ``delay``
        seconds with ``ctx.state`` set to ``state``."""
        raise Defer(delay=check.seconds("defer: delay", delay), state=check.json("state", state))

    def steps_to_save(self) -> dict[str, Any]:
        """The step data to write when the run is parked."""
        return dict(self._load())

    # -- deadlines ---------------------------------------------------------------------

    def prolong(self, seconds: float | str | timedelta | None = None) -> None:
        """Reset the deadline to ``seconds`` (a duration: ``"10m"``, seconds, a
        timedelta) from now (default: the job's timeout) and renew the lease;
        recorded as a ``prolonged`` event."""
        self.reported_at = time.monotonic()
        seconds = self.timeout if seconds is None else seconds
        if seconds is None:
            return
        seconds = check.seconds("prolong", seconds, positive=True)
        self.deadline = time.monotonic() + seconds
        lease = max(conf.get("LEASE_SECONDS"), float(seconds))
        now = timezone.now()
        updated = Job.objects.filter(
            pk=self.job_id, status=JobStatus.PROCESSING, locked_by=self.worker_id
        ).update(locked_until=now + timedelta(seconds=lease), updated_at=now)
        if updated:
            JobEvent.objects.create(
                job_id=self.job_id,
                type=EventType.PROLONGED,
                metadata=event_metadata(seconds=seconds, attempt=self.attempt),
            )

    def on_timeout(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` each time the deadline passes: while it returns a
        duration (seconds, ``"5m"``, a timedelta) the deadline moves that far
        from now; once it declines (None, 0, False) the job times out."""
        self._on_timeout = callback

    def extend_on_timeout(self) -> bool:
        """At the deadline: ask the on_timeout callback for more time (again at each
        new deadline, until it declines). True if the deadline moved."""
        with self._timeout_lock:
            if self.deadline is not None and time.monotonic() < self.deadline:
                return True  # the other thread asked a moment ago and got more time
            callback = self._on_timeout
            if callback is None:
                return False
            try:
                seconds = callback()
                if seconds:
                    self.prolong(seconds)
                    return True
            except Exception:
                logger.exception("on_timeout callback of job %s failed; it times out", self.job_id)
            self._on_timeout = None  # it declined: not asked again
            return False
