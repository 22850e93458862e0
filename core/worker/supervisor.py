"""Run P worker processes, restart the ones that die (each death recorded as a
WorkerDeath), give up when they keep dying; keep the liveness file as old as the
oldest child's."""

import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from datetime import datetime

from django.db import connections
from django.utils import timezone

from core.worker import deaths, liveness, signalling
from core.worker.burst import LEFT_JOBS

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
        liveness_file: str | None = None,
    ) -> None:
        self.command = command
        self.processes = processes
        self.max_deaths = max_deaths
        self.window = window
        self.grace = grace
        self.children: dict[int, subprocess.Popen] = {}
        #: When each slot's child was started (to tell its Worker row from older ones).
        self.started_at: dict[int, datetime] = {}
        self.liveness_file = liveness_file
        self._liveness_failed = False
        self.deaths: deque[float] = deque()
        self.stopping = False
        self._wake = threading.Event()

    def _start(self, slot: int) -> None:
        self.started_at[slot] = timezone.now()
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
        connections.close_all()  # the database is used only when a child dies
        for slot in range(self.processes):
            self._start(slot)
        finished: set[int] = set()
        code = 0
        while len(finished) < self.processes:
            self._wake.wait(0.2)
            self._follow_liveness()
            for slot, proc in list(self.children.items()):
                if slot in finished or proc.poll() is None:
                    continue
                if proc.returncode in (0, LEFT_JOBS) or self.stopping:
                    finished.add(slot)  # --burst/--max-jobs/--once done, or shutting down
                    if proc.returncode == LEFT_JOBS:
                        code = LEFT_JOBS  # a burst worker left held-back jobs
                    continue
                self._died(slot, proc)
                # The database is used only when a child dies: no idle connection kept
                # open between deaths (the server may close it meanwhile).
                connections.close_all()
                self._record_death(slot, proc.pid, proc.returncode)
                self._start(slot)
        return code

    def _died(self, slot: int, proc: subprocess.Popen) -> None:
        """Record a child's death and send ``worker_died`` for it."""
        code = proc.returncode
        death = deaths.record_exit(proc.pid, code, slot, self.started_at[slot])
        detail = deaths.exit_detail(code)
        deaths.send_died(
            death.worker if death is not None else f"{socket.gethostname()}:{proc.pid}",
            "process",
            deaths.exit_reason(code),
            exitcode=detail.get("exit_code"),
            signal_name=detail.get("signal"),
        )

    def _follow_liveness(self) -> None:
        """Give the liveness file the age of the oldest child's (see core.worker.liveness)."""
        if not self.liveness_file:
            return
        slots = [liveness.slot_path(self.liveness_file, s) for s in range(self.processes)]
        try:
            liveness.follow_oldest(self.liveness_file, slots)
        except OSError as exc:
            if not self._liveness_failed:  # said once, not every 0.2 s
                logger.warning("could not update liveness file %s: %s", self.liveness_file, exc)
            self._liveness_failed = True

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
