"""Thread pings: each handler thread says what it runs, the heartbeat reads who is stuck.

A handler thread points its ``ThreadPing`` at the run it takes and clears it when the
run ends; the run's start time and its context's ``reported_at`` (set by every call the
handler makes into ``ctx``) say when it last reported. No lock and no database: a
thread writes one attribute per job, and the heartbeat thread reads them all once per
heartbeat (``survey``). Only a job without a timeout can be stuck: one with a timeout
is ended at its deadline.
"""

from dataclasses import dataclass, field
from typing import Any


class ThreadPing:
    """What one handler thread runs now (``run`` None: idle)."""

    __slots__ = ("name", "run")

    def __init__(self, name: str) -> None:
        #: The thread's name, reported with a stuck job.
        self.name = name
        #: The runner's Run this thread executes (job, started, ctx), or None.
        self.run: Any = None


@dataclass(slots=True)
class Survey:
    """What the heartbeat reports about the handler threads."""

    #: Threads waiting for a job.
    idle: int = 0
    #: Threads whose job has no timeout and that have not reported for too long:
    #: ``{"thread", "job", "silent_seconds"}`` each.
    stuck: list[dict[str, Any]] = field(default_factory=list)


def last_report(run: Any) -> float:
    """time.monotonic() of the run's last sign of life: its start or its last ctx call."""
    started = run.started or 0.0
    ctx = run.ctx
    return max(started, ctx.reported_at) if ctx is not None else started


def survey(pings: list[ThreadPing], now: float, stuck_after: float) -> Survey:
    """Count idle threads and list the stuck ones, as of ``now`` (time.monotonic())."""
    result = Survey()
    for ping in pings:
        run = ping.run  # one read: the thread may change it meanwhile
        if run is None:
            result.idle += 1
            continue
        if run.job.timeout is not None or run.started is None:
            continue  # its deadline ends it, or it has not started yet
        silent = now - last_report(run)
        if silent >= stuck_after:
            result.stuck.append(
                {"thread": ping.name, "job": run.job.id, "silent_seconds": round(silent, 1)}
            )
    return result
