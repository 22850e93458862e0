"""Run a handler in a child process that can be killed at the job's deadline.

Used for jobs with ``force_kill_on_timeout=True``: code that never checks
``ctx.should_abort()`` (a C extension, a busy loop) is stopped with SIGKILL.
The child is started with "spawn" (never fork a threaded process), so each
such attempt pays a Django start-up (about a second).
"""

import multiprocessing
import time
import traceback
from typing import Any

from django.db import connections

from core.drivers.rows import ClaimedJob, Outcome
from core.worker import executor
from core.worker.child import child_main

_spawn = multiprocessing.get_context("spawn")
#: Seconds a child may take to start Django before the attempt fails.
STARTUP_TIMEOUT = 60.0


def run_in_child(job: ClaimedJob, worker_id: str, abort_event: Any) -> Outcome:
    """Run the job in a child process; kill it (SIGKILL) at the deadline."""
    parent, child = _spawn.Pipe(duplex=False)
    mp_abort = _spawn.Event()
    fields = {name: getattr(job, name) for name in ClaimedJob.__slots__}
    db_name = connections["default"].settings_dict["NAME"]
    process = _spawn.Process(
        target=child_main,
        args=(child, fields, worker_id, db_name, mp_abort),
        daemon=True,
        name=f"queueadmin-job-{job.id}",
    )
    process.start()
    child.close()
    try:
        if not parent.poll(STARTUP_TIMEOUT) or parent.recv() != "started":
            raise RuntimeError(f"handler process did not start within {STARTUP_TIMEOUT}s")
        deadline = time.monotonic() + (job.timeout or 0)
        while True:
            remaining = deadline - time.monotonic()
            if abort_event.is_set():
                mp_abort.set()
            if parent.poll(min(max(remaining, 0), 0.2)):
                return parent.recv()
            if not process.is_alive():
                exc = RuntimeError(f"handler process exited with code {process.exitcode}")
                return executor.failure(job, executor.error_entry(job, exc, "handler_error", ""))
            if remaining <= 0:
                process.kill()
                return executor.timed_out(job)
    except EOFError:
        exc = RuntimeError(f"handler process exited with code {process.exitcode}")
        return executor.failure(job, executor.error_entry(job, exc, "handler_error", ""))
    except Exception as exc:
        return executor.failure(
            job, executor.error_entry(job, exc, "handler_error", traceback.format_exc())
        )
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        parent.close()
