"""Wake-ups on SQLite: a cheap watch for new jobs instead of NOTIFY.

Every commit in WAL mode appends to the ``-wal`` file, so its modification time and
size change; looking at them (one ``stat``) costs a few microseconds. After a change,
one look at the highest job id tells an enqueue (a new job) from any other write
(claims, outcomes, heartbeats), so workers wake, as on PostgreSQL, when a job is
added, not at every commit of a busy neighbour. Without WAL the database file itself
is watched.

On Linux the listener sleeps on an inotify watch of the database's directory
(``core.drivers.sqlite.inotify``) and looks at the files when one is written: a wake-up
follows a commit at once, and an idle worker wakes only when something writes there
(and every SAFETY_TICK). Elsewhere it looks every TICK.
"""

import os
import sqlite3
import time

from core.drivers.sqlite.inotify import DirectoryWatch
from core.drivers.tables import table

#: Seconds between two looks at the files without inotify: an idle worker spends well
#: under 1% of a core on them (waking up costs more than looking) and a wake-up waits
#: 5 ms on average.
TICK = 0.01
#: With inotify, seconds between two looks at the files when no write woke the listener
#: (a safety net: a directory replaced under it, a file system that sends no events).
SAFETY_TICK = 0.25
#: Seconds before a second look after a change of the files that showed no new job.
RECHECK = 0.003


class SQLiteListener:
    """A dedicated connection watching for new jobs (the Listener of the worker)."""

    def __init__(self, path: str, timeout: float) -> None:
        self._paths = (f"{path}-wal", path)
        self._watch = DirectoryWatch.open(os.path.dirname(os.path.abspath(path)))
        self._conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        self._newest_sql = f"SELECT max(id) FROM {table('Job')}"
        self._stamp = self._files()
        self._newest = self._newest_job()

    def _files(self) -> tuple:
        stamp = []
        for path in self._paths:
            try:
                info = os.stat(path)
            except FileNotFoundError:
                stamp.append(None)
            else:
                stamp.append((info.st_mtime_ns, info.st_size))
        return tuple(stamp)

    def _newest_job(self) -> int:
        return self._conn.execute(self._newest_sql).fetchone()[0] or 0

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for a job to be added; True if one was."""
        deadline = time.monotonic() + timeout
        recheck = False
        while True:
            stamp = self._files()
            changed = stamp != self._stamp
            if changed or recheck:
                self._stamp = stamp
                newest = self._newest_job()
                added, self._newest = newest > self._newest, newest
                if added:
                    return True
            # A commit's pages reach the -wal file a moment before readers see the commit
            # (SQLite then updates the shared index): after a change that showed no new
            # job, one more look shortly after.
            recheck = changed
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if recheck:
                time.sleep(min(RECHECK, left))
            elif self._watch is None:
                time.sleep(min(TICK, left))
            else:
                self._watch.wait(min(SAFETY_TICK, left))

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
        self._conn.close()
