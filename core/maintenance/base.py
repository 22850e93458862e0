"""What a maintenance task is, what one run of it gets and what it reports."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core import conf
from core.maintenance import locks


@dataclass(frozen=True)
class Result:
    """What one run of a task did."""

    #: False when the task raised (``summary`` then holds the error).
    ok: bool
    #: One line for people: "deleted 1,234 jobs, 5,678 events, 3 tokens".
    summary: str
    #: What changed, by kind ({"jobs": 1234, "events": 5678}).
    counts: dict[str, int] = field(default_factory=dict)
    #: Wall time of the run.
    seconds: float = 0.0
    #: Not run: another worker holds the task (``run_all`` only).
    skipped: bool = False

    def __str__(self) -> str:
        return self.summary if self.skipped else f"{self.summary} ({self.seconds:.1f} s)"

    @property
    def changed(self) -> bool:
        """True when the run changed anything."""
        return any(self.counts.values())

    def as_json(self) -> dict[str, Any]:
        """The run as stored in ``MaintenanceTask.last_result``."""
        return {
            "ok": self.ok,
            "summary": self.summary,
            "counts": self.counts,
            "seconds": round(self.seconds, 3),
        }


def done(summary: str, **counts: int) -> Result:
    """A successful run's result (the runner fills in the seconds)."""
    return Result(ok=True, summary=summary, counts=counts)


def plural(count: int, noun: str) -> str:
    """The count with its noun: 1 job, 1,234 jobs."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


@dataclass
class TaskRun:
    """One claimed run of a task: its clock, its time limit and its lock."""

    name: str
    worker_id: str
    #: The moment the run counts from (the prunes' cutoffs are relative to it).
    now: datetime
    #: ``time.monotonic()`` after which a task stops and leaves the rest to its
    #: next run; None: no limit.
    deadline: float | None = None
    #: Seconds: the age given to a run by hand (``run_all(older_than=…)``,
    #: ``queue_maintenance --…-older-than``) in place of the settings; None: the settings.
    older_than: float | None = None
    _renewed: float = field(default_factory=time.monotonic)

    def out_of_time(self) -> bool:
        """True once the run's time limit has passed (tasks ask between chunks, which
        also renews their lock)."""
        self.keep_lock()
        return self.deadline is not None and time.monotonic() >= self.deadline

    def keep_lock(self) -> None:
        """Renew the task's lock when a third of it has gone by (call between chunks)."""
        if time.monotonic() - self._renewed >= locks.lock_seconds() / 3:
            locks.extend(self.name, self.worker_id)
            self._renewed = time.monotonic()


@dataclass(frozen=True)
class Task:
    """A periodic maintenance job that one worker at a time runs."""

    name: str
    #: The setting holding the seconds between two runs.
    interval_setting: str
    #: Does the work; called with the claimed run.
    run: Callable[[TaskRun], Result]
    #: One line for ``queue_maintenance --help`` and the logs.
    description: str
    #: Whether a run by hand may be given an age (``TaskRun.older_than``).
    takes_age: bool = False

    @property
    def interval(self) -> float:
        """Seconds between two runs."""
        return float(conf.get(self.interval_setting))
