"""Database faults in the long-running loops (worker, completer, pusher, maintenance): tell
an outage from a bug, back off, and log each failure in one line.

A dropped connection is logged as one ERROR line naming what failed and the error's class
and message; its traceback only the first time that error is seen in the process (or
every time at DEBUG), so an operator reading the log during an outage sees one line per
failure, not a page per failure. Imports Django only.
"""

import logging
import threading

from django.db import InterfaceError, OperationalError, close_old_connections, connections

#: Distinct errors whose traceback was already logged (bounded).
_seen: set[tuple[str, str]] = set()
_seen_lock = threading.Lock()
_SEEN_MAX = 1000


def is_outage(exc: BaseException) -> bool:
    """True for errors that go away when the database comes back (connection lost,
    refused, server restarting, SQLite busy); False for errors a retry cannot fix."""
    return isinstance(exc, OperationalError | InterfaceError)


def summary(exc: BaseException) -> str:
    """The error's class and the first line of its message."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else '(no message)'}"


def log_failure(logger: logging.Logger, what: str, exc: BaseException) -> None:
    """Log ``what`` failed in one ERROR line, with the traceback the first time this
    error (class and message) is seen, or every time when DEBUG is enabled."""
    key = (type(exc).__qualname__, summary(exc))
    with _seen_lock:
        first = key not in _seen
        if first and len(_seen) < _SEEN_MAX:
            _seen.add(key)
    show = first or logger.isEnabledFor(logging.DEBUG)
    logger.error("%s: %s", what, summary(exc), exc_info=exc if show else None)


def reset_connection(using: str = "default") -> None:
    """Drop this thread's connection so the next query opens a fresh one."""
    close_old_connections()
    connections[using].close()


class Backoff:
    """Seconds to wait between retries: doubling from ``first`` up to ``most``."""

    def __init__(self, first: float = 0.2, most: float = 5.0) -> None:
        self.first, self.most = first, most
        self.next = first

    def step(self) -> float:
        """The wait before the next retry (and double the one after)."""
        wait = self.next
        self.next = min(self.next * 2, self.most)
        return wait

    def reset(self) -> None:
        """Back to the first wait (after a success)."""
        self.next = self.first
