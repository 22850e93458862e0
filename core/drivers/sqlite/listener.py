"""Wake-ups on SQLite: a cheap watch for new jobs instead of NOTIFY.

Every commit in WAL mode appends to the ``-wal`` file, so its modification time and
size change; looking at them (one ``stat``) costs a few microseconds. After a change,
one look at the highest job id tells an enqueue (a new job) from any other write
(claims, outcomes, heartbeats), so workers wake, as on PostgreSQL, when a job is
added, not at every commit of a busy neighbour. Without WAL the database file itself
is watched.
"""

import os
import sqlite3
import time

from core.drivers.tables import table

#: Seconds between two looks at the files: an idle worker spends well under 1% of a core
#: on them (waking up costs more than looking) and a wake-up waits 5 ms on average.
TICK = 0.01


class SQLiteListener:
    """A dedicated connection watching for new jobs (the Listener of the worker)."""

    def __init__(self, path: str, timeout: float) -> None:
        self._paths = (f"{path}-wal", path)
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
        while True:
            stamp = self._files()
            if stamp != self._stamp:
                self._stamp = stamp
                newest = self._newest_job()
                added, self._newest = newest > self._newest, newest
                if added:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(TICK)

    def close(self) -> None:
        self._conn.close()
