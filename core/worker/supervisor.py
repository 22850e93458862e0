"""Run P worker processes, restart the ones that die, give up when they keep dying."""

import logging
import os
import signal
import subprocess
import threading
import time
from collections import deque

from core.worker import signalling

logger = logging.getLogger("queueadmin.worker")


class TooManyDeaths(RuntimeError):
    """Worker processes died too often within the window; the supervisor gave up."""


class Supervisor:
    """Keeps ``processes`` copies of a worker command running."""

    def __init__(
        self,
        command: list[str],
        processes: int,
        *,
        max_deaths: int = 5,
        window: float = 60.0,
        grace: float = 30.0,
    ) -> None:
        self.command = command
        self.processes = processes
        self.max_deaths = max_deaths
        self.window = window
        self.grace = grace
        self.children: dict[int, subprocess.Popen] = {}
        self.deaths: deque[float] = deque()
        self.stopping = False
        self._wake = threading.Event()

    def _start(self, slot: int) -> None:
        proc = subprocess.Popen([*self.command, "--worker-slot", str(slot)])
        self.children[slot] = proc
        logger.info("supervisor started worker process slot=%d pid=%d", slot, proc.pid)

    def _on_signal(self, signum) -> None:
        if self.stopping:
            logger.warning("supervisor: second signal, killing worker processes")
            for proc in self.children.values():
                if proc.poll() is None:
                    proc.kill()
            os._exit(1)  # from the signal thread: SystemExit would end only that thread
        logger.info("supervisor got %s: stopping worker processes", signal.Signals(signum).name)
        self.stopping = True
        for proc in self.children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        self._wake.set()

    def run(self) -> int:
        """Supervise until stopped or every child exited cleanly; return the exit code."""
        signalling.watch(self._on_signal)
        for slot in range(self.processes):
            self._start(slot)
        finished: set[int] = set()
        while len(finished) < self.processes:
            self._wake.wait(0.2)
            for slot, proc in list(self.children.items()):
                if slot in finished or proc.poll() is None:
                    continue
                code = proc.returncode
                if code == 0 or self.stopping:
                    finished.add(slot)  # --burst/--max-jobs done, or shutting down
                    continue
                self._record_death(slot, proc.pid, code)
                self._start(slot)
        return 0

    def _record_death(self, slot: int, pid: int, code: int) -> None:
        now = time.monotonic()
        self.deaths.append(now)
        while self.deaths and now - self.deaths[0] > self.window:
            self.deaths.popleft()
        logger.warning("worker process slot=%d pid=%d died with exit code %s", slot, pid, code)
        if len(self.deaths) > self.max_deaths:
            self.stopping = True
            for proc in self.children.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + self.grace
            for proc in self.children.values():
                try:
                    proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    proc.kill()
            raise TooManyDeaths(
                f"worker processes died {len(self.deaths)} times within {self.window:g}s "
                f"(last exit code {code}); stopping. See the errors logged above."
            )
