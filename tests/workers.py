"""Helpers to run workers in tests: in a thread of this process, or as runworker processes."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.db import connection

from core.worker.runner import Worker, WorkerOptions

ROOT = Path(__file__).resolve().parent.parent


def run_burst(**options) -> Worker:
    """Run a --burst worker in a thread of this process until no due job is left."""
    options.setdefault("poll_interval", 0.01)
    worker = Worker(WorkerOptions(burst=True, **options))
    thread = threading.Thread(target=worker.run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "burst worker did not finish within 60 s"
    return worker


class BackgroundWorker:
    """A worker running in a thread until stop() (a context manager)."""

    def __init__(self, **options) -> None:
        options.setdefault("poll_interval", 0.01)
        self.worker = Worker(WorkerOptions(**options))
        self.thread = threading.Thread(target=self.worker.run)

    def __enter__(self) -> Worker:
        self.thread.start()
        return self.worker

    def __exit__(self, *exc) -> None:
        self.worker.stop()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "worker did not stop within 30 s"


def database_url() -> str:
    """DATABASE_URL of the test database, for runworker subprocesses."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_runworker(*args: str, env: dict | None = None, log=None) -> subprocess.Popen:
    """Start `manage.py runworker` against the test database."""
    environ = {**os.environ, "DATABASE_URL": database_url(), **(env or {})}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "runworker", *args],
        cwd=ROOT,
        env=environ,
        stdout=log or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05, message: str = ""):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message or predicate}")
