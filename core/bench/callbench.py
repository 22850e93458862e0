"""queuebench's *call* phase: the round trip of ``core.queue.call`` for a no-op job.

Calls are made one by one, ``gap`` seconds apart, to an idle ``manage.py runworker``
with its default options: each is enqueue, the worker's wake-up, claim, run and
batched outcome, and the caller's wake-up (a notification on PostgreSQL, polling on
SQLite), measured around the call.
"""

import socket
import tempfile
import time
from dataclasses import dataclass, field

from core.bench import queuebench as qb
from core.models import Worker as WorkerRow
from core.queue import call

#: Calls made (and not counted) before the measured ones: connections, plans, listener.
WARMUP = 10


@dataclass
class CallLatency:
    """Round trips of ``call``, in milliseconds."""

    p50_ms: float
    p95_ms: float
    samples: int
    log: str
    latencies_ms: list[float] = field(default_factory=list)


def bench_call(samples: int, gap: float, keep: bool = False, timeout: float = 60) -> CallLatency:
    """Time ``samples`` calls of the no-op job, ``gap`` s apart, to an idle runworker."""
    qb.cleanup()
    with tempfile.TemporaryFile() as log:
        proc = qb._start(qb.worker_command(), log)
        try:
            mine = WorkerRow.objects.filter(host=socket.gethostname(), pid=proc.pid)
            deadline = time.monotonic() + timeout
            while not mine.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"runworker did not start:\n{qb._read(log)}")
                time.sleep(qb.POLL)
            time.sleep(0.5)
            latencies = []
            for n in range(WARMUP + samples):
                started = time.perf_counter()
                call(qb.NOOP, queue=qb.BENCH_QUEUE, timeout=timeout)
                if n >= WARMUP:
                    latencies.append((time.perf_counter() - started) * 1000)
                time.sleep(gap)
        finally:
            qb._stop(proc)
        output = qb._read(log)
    if not keep:
        qb.cleanup()
    p50, p95 = qb.percentile(latencies, 50), qb.percentile(latencies, 95)
    return CallLatency(p50, p95, samples, output, latencies)


def rows(opts: dict) -> list[tuple[str, str, str]]:
    """The call phase's row of the queuebench table."""
    result = bench_call(opts["call_samples"], opts["latency_gap"], opts["keep"])
    return [
        (
            "call round trip p50 / p95",
            f"{result.p50_ms:.1f} / {result.p95_ms:.1f} ms",
            f"({result.samples:,} calls of a no-op job, "
            f"{opts['latency_gap'] * 1000:g} ms apart, idle runworker)",
        )
    ]
