"""The worker's handler threads: each runs the per-thread setup (core.worker.hooks),
takes claimed runs from the worker's buffer and executes them; one that dies outside
a job is reported (``worker_died``) and replaced. A mixin of runner.Worker."""

import logging
import threading
import time

from django.db import connections

from core.worker import deaths, executor, hooks
from core.worker.pings import ThreadPing
from core.worker.runs import Run

logger = logging.getLogger("queueadmin.worker")

#: Seconds a stopping worker waits for its idle handler threads to end (and their
#: setup's teardown to run).
JOIN_SECONDS = 10.0


class HandlerThreads:
    """The handler-thread half of runner.Worker (it provides the attributes used here)."""

    def _await_setup(self) -> None:
        """Wait for every handler thread's setup: one that raised stops the worker."""
        if self.setup is None:
            return
        error = self.setup.wait(self.options.concurrency, lambda: self.stopping)
        if error is not None:
            raise hooks.WorkerSetupError(
                f"the worker setup {hooks._name(self.setup.fn)} raised "
                f"{type(error).__name__}: {error}"
            ) from error

    def _spawn_thread(self) -> None:
        name = f"queueadmin-exec-{len(self._threads)}"
        ping = ThreadPing(name)
        thread = threading.Thread(target=self._thread_loop, args=(ping,), name=name, daemon=True)
        self._threads.append(thread)
        self.pings.append(ping)
        thread.start()

    def _thread_loop(self, ping: ThreadPing) -> None:
        # The per-thread setup (core.worker.hooks): its value is ctx.resources.
        teardown = self.setup.enter() if self.setup is not None else None
        run = None
        try:
            if self.setup is not None and teardown is None:
                self._thread_died(ping, None, self.setup.error, replace=False)
                return
            while True:
                run = self._items.get()
                if run is None:
                    return
                if self.stopping or run.done:
                    continue  # released at shutdown
                if not self._mark(run):
                    continue
                ping.run = run  # the thread ping: what it runs since when (see pings)
                self._execute(run)
                ping.run = None
                if run.written_off:
                    return  # a replacement thread took over this one's slot
        except BaseException as exc:  # a fault of the worker itself, outside the handler
            self._thread_died(ping, run, exc, replace=True)
        finally:
            self.pings.remove(ping)
            if teardown is not None:
                teardown()
            connections.close_all()

    def _thread_died(
        self, ping: ThreadPing, run: Run | None, exc: BaseException | None, *, replace: bool
    ) -> None:
        """A handler thread ends outside a job: fail the run it held, send worker_died,
        and (unless its setup failed) start a replacement."""
        reason = f"{type(exc).__name__}: {exc}" if exc is not None else "unknown"
        if not replace:
            reason = f"its worker setup raised {reason}"
        logger.error("worker id=%s thread %s died: %s", self.worker_id, ping.name, reason)
        ping.run = None
        if run is not None and exc is not None and run.close():
            error = executor.error_entry(run.job, exc, executor.HANDLER_ERROR)
            self._record(run, executor.failure(run.job, error))
        deaths.send_died(self.worker_id, "thread", reason, thread=ping.name)
        if replace and not self.stopping:
            self._spawn_thread()

    def _join_threads(self) -> None:
        """Let the idle handler threads end (running their setup's teardown); threads
        still inside a handler after the grace period are not waited for."""
        deadline = time.monotonic() + JOIN_SECONDS
        busy = {ping.name for ping in list(self.pings) if ping.run is not None}
        for thread in self._threads:
            if thread.name in busy or thread is threading.current_thread():
                continue
            thread.join(max(deadline - time.monotonic(), 0))
