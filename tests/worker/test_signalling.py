"""A worker's SIGTERM handling takes no lock in the signal handler itself."""

import os
import subprocess
import sys

from tests.workers import ROOT

# The signal lands while the main thread holds the lock of the event it waits on (as
# inside Event.wait): a handler that set that event itself would wait for ever.
SCRIPT = """
import os, signal, sys, time
import django
django.setup()
from core.worker.runner import Worker, WorkerOptions
worker = Worker(WorkerOptions(push=False))
worker._install_signals()
with worker.wake._cond:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.2)
deadline = time.monotonic() + 5
while not worker.wake.is_set() and time.monotonic() < deadline:
    time.sleep(0.01)
sys.exit(0 if worker.stopping and worker.wake.is_set() else 3)
"""


def test_sigterm_while_the_main_thread_holds_the_wake_lock_still_stops_the_worker():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "queueadmin.settings"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, timeout=30, capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
