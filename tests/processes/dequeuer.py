"""A process that runs the application's own loop (core.queue.dequeue) against the test
database: ``python -m tests.processes.dequeuer MODE [ARGS]``, with DATABASE_URL set.

drain QUEUE OUT GO: once the file GO exists, dequeue batches of 5 and complete them
until the queue stays empty, writing each leased job id to OUT as it is leased (OUT is
created when the process is ready).
hold QUEUE LOCK MARKER: lease one job for LOCK seconds, touch MARKER, and sleep (the
test kills the process: a crash while holding the lock).
"""

import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "queueadmin.settings")
django.setup()

from core import queue  # noqa: E402


def drain(queue_name: str, out: str, go: str) -> None:
    empty = 0
    with open(out, "a") as fh:
        deadline = time.monotonic() + 60  # the test gave up: don't outlive it
        while not os.path.exists(go):
            if time.monotonic() > deadline:
                sys.exit("no go within 60 s")
            time.sleep(0.01)
        while empty < 20:
            jobs = queue.dequeue(queue_name, limit=5, lock=30)
            if not jobs:
                empty += 1
                time.sleep(0.02)
                continue
            empty = 0
            for job in jobs:
                fh.write(f"{job.id}\n")
                fh.flush()
            time.sleep(0.005)  # the work: the other loop gets its turns meanwhile
            for job in jobs:
                job.complete({"by": os.getpid()})


def hold(queue_name: str, lock: str, marker: str) -> None:
    (job,) = queue.dequeue(queue_name, lock=float(lock))
    with open(marker, "w") as fh:
        fh.write(str(job.id))
    time.sleep(60)  # killed by the test long before


if __name__ == "__main__":
    {"drain": drain, "hold": hold}[sys.argv[1]](*sys.argv[2:])
