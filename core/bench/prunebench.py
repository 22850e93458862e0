"""Prune while processing: run the retention pruning (the ``prune_jobs`` maintenance task)
over the old finished jobs already in the database while a real ``runworker`` (default
flags, its own queue) works through a steady stream of new jobs, and report how long the worker was
held up: the latency from enqueue to start of each streamed job, before and during the
pruning, and the longest gap between two claims while it ran."""

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from django.conf import settings
from django.utils import timezone

from core import conf, maintenance, queue
from core.jobs.filters import filter_jobs
from core.maintenance import locks
from core.maintenance.prune_jobs import RULES
from core.models import Job, Worker

TASK = "prune_jobs"
#: Tag of the streamed jobs (to find them afterwards).
STREAM_TAG = "prunebench"
#: The streamed jobs' queue, the only one the benchmark's worker serves: a seeded
#: backlog of due jobs in other queues must not keep its threads busy (that would be
#: waiting for threads, not for the pruning).
STREAM_QUEUE = "prunebench"
#: Target (issue 19): the worker is never held up longer than this while pruning runs.
STALL_TARGET_S = 1.0


@dataclass(frozen=True)
class Phase:
    """The streamed jobs started in one phase: how many, and their enqueue-to-start
    latency (median, max, seconds) and the longest gap between two starts."""

    jobs: int
    median_s: float
    max_s: float
    longest_gap_s: float


@dataclass(frozen=True)
class PruneBench:
    """The pruning (its summary and seconds) and the stream before and during it."""

    summary: str
    prune_seconds: float
    pruned_jobs: int
    before: Phase
    during: Phase
    after: Phase
    unstarted: int

    @property
    def stall_s(self) -> float:
        """The longest the worker was held up while pruning: the longest enqueue-to-start
        latency of a job enqueued during it, or the longest gap between two claims."""
        return max(self.during.max_s, self.during.longest_gap_s)


def phase(rows: list[tuple[datetime, datetime]], begin: datetime, end: datetime) -> Phase:
    """Phase figures of the (created, started) rows of jobs enqueued in [begin, end)."""
    inside = sorted((c, s) for c, s in rows if begin <= c < end)
    if not inside:
        return Phase(0, 0.0, 0.0, 0.0)
    waits = sorted((s - c).total_seconds() for c, s in inside)
    starts = sorted(s for _, s in inside)
    gaps = [(b - a).total_seconds() for a, b in pairwise(starts)]
    return Phase(len(inside), waits[len(waits) // 2], waits[-1], max(gaps, default=0.0))


class _Stream(threading.Thread):
    """Enqueues one job every 1/rate seconds until stopped."""

    def __init__(self, job_type: str, rate: float) -> None:
        super().__init__(name="prunebench-stream", daemon=True)
        self.job_type, self.interval = job_type, 1.0 / rate
        self.halt = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        from django.db import connection

        due = time.monotonic()
        try:
            while not self.halt.is_set():
                queue.enqueue(self.job_type, {"n": 1}, queue=STREAM_QUEUE, tags=[STREAM_TAG])
                due += self.interval
                self.halt.wait(max(0.0, due - time.monotonic()))
        except BaseException as exc:  # reported by the caller
            self.error = exc
        finally:
            connection.close()


def _hold_off_workers() -> None:
    """Record a run of the task now, so a worker's maintenance does not start it for one
    interval: this benchmark runs it itself, at a known moment."""
    now = timezone.now()
    locks.rows([TASK])
    if locks.claim(TASK, "prunebench", now, interval=None):
        locks.release(TASK, "prunebench", now, {"ok": True, "summary": "held off by prunebench"})


def _wait_until_serving(worker: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not Worker.objects.filter(pid=worker.pid).exists():
        if worker.poll() is not None:
            raise RuntimeError(f"runworker exited with code {worker.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"runworker did not register within {timeout:g} s")
        time.sleep(0.1)
    time.sleep(1.0)  # its first poll and its maintenance's first round


def start_worker(env: dict[str, str] | None = None, log=None) -> subprocess.Popen:
    """``manage.py runworker`` with its defaults but for the queue (STREAM_QUEUE), on
    this project and (by default) this process's environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "django", "runworker", "--queue", STREAM_QUEUE],
        cwd=getattr(settings, "BASE_DIR", os.getcwd()),
        env={"DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE, **os.environ, **(env or {})},
        stdout=log or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )


def run(
    *, rate: float = 50.0, before: float = 5.0, after: float = 2.0, job_type: str = "demo.quick",
    env: dict[str, str] | None = None, drain: float = 60.0, say=lambda text: None,
) -> PruneBench:  # fmt: skip
    """Stream ``rate`` jobs a second to a fresh runworker for ``before`` seconds, then
    prune (``prune_jobs``, no time limit) and go on for ``after`` seconds; measure."""
    _hold_off_workers()
    worker = start_worker(env)
    stream = _Stream(job_type, rate)
    try:
        _wait_until_serving(worker)
        begin = timezone.now()
        stream.start()
        say(f"streaming {rate:g} jobs/s to runworker pid {worker.pid} for {before:g} s")
        time.sleep(before)
        prune_began = timezone.now()
        said = time.monotonic()
        result = maintenance.run_all("prunebench", [TASK])[TASK]
        prune_seconds = time.monotonic() - said
        prune_ended = timezone.now()
        say(f"pruned: {result}")
        time.sleep(after)
        stream.halt.set()
        stream.join()
        if stream.error:
            raise stream.error
        end = timezone.now()
        streamed = filter_jobs(tags=[STREAM_TAG], created_after=begin)
        deadline = time.monotonic() + drain
        while streamed.filter(started_at__isnull=True).exists():
            if time.monotonic() > deadline or worker.poll() is not None:
                break
            time.sleep(0.2)
    finally:
        stream.halt.set()
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    rows = list(streamed.exclude(started_at=None).values_list("created_at", "started_at"))
    return PruneBench(
        summary=result.summary,
        prune_seconds=prune_seconds,
        pruned_jobs=result.counts.get("jobs", 0),
        before=phase(rows, begin, prune_began),
        during=phase(rows, prune_began, prune_ended),
        after=phase(rows, prune_ended, end),
        unstarted=streamed.filter(started_at=None).count(),
    )


def prunable() -> int:
    """Finished jobs now past their retention (what ``prune_jobs`` would delete)."""
    now, total = timezone.now(), 0
    for status, stamp, setting in RULES:
        after = conf.get(setting)
        if after is not None:
            cutoff = now - timedelta(seconds=after)
            total += Job.objects.filter(status=status, **{f"{stamp}__lt": cutoff}).count()
    return total
