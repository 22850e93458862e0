"""SIGTERM and SIGINT handled on a thread of their own (workers, the supervisor and
``manage.py stream``).

A Python signal handler runs in the main thread between two bytecodes, possibly
while that thread holds a lock it is about to wait on (``Event.wait`` holds its
condition's lock for a moment): a handler that sets that event, logs, or starts a
thread can then wait for ever on a lock its own thread holds. So the handler does
nothing; ``signal.set_wakeup_fd`` writes the signal's number to a pipe at the C level,
and a watcher thread reads it and acts, taking whatever locks it needs.
"""

import os
import signal
import threading
from collections.abc import Callable

HANDLED = (signal.SIGTERM, signal.SIGINT)


def _nothing(signum, frame) -> None:
    """Replaces the default action (exit at once); the watcher thread does the work."""


def watch(on_signal: Callable[[int], None]) -> Callable[[], None]:
    """Call ``on_signal(signum)`` on a daemon thread for each SIGTERM or SIGINT; return
    a function that puts the previous handling back. Only from the main thread (the
    only one that may install signal handlers)."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    previous = {signum: signal.signal(signum, _nothing) for signum in HANDLED}

    def read() -> None:
        try:
            while data := os.read(read_fd, 64):
                for signum in data:
                    if signum in HANDLED:
                        on_signal(signum)
        finally:
            os.close(read_fd)

    threading.Thread(target=read, name="queueadmin-signals", daemon=True).start()

    def restore() -> None:
        signal.set_wakeup_fd(previous_fd)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        os.close(write_fd)  # the watcher reads the end of the pipe and stops

    return restore
