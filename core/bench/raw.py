"""queuebench's raw phase: what the database itself allows, without the queue around
it, through plain connections beside Django's. One-row INSERT commits and a batched
claim + complete loop in two threads on a narrow table of its own (SCRATCH), then the
same loop on a copy of the job table (``core.bench.rawjobs``). Both tables are created
and dropped here, also on error."""

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection

from core.bench import rawjobs

#: The raw phase's table, created and dropped by queuebench.
SCRATCH = "queuebench_scratch"
#: Untimed one-row INSERTs (and single enqueues) before the timed ones.
WARM_UP = 50
#: One-row INSERTs, then as many single enqueues, per turn of ``inserts_in_turns``.
TURN = 50
#: Threads (each with its own connection) of the raw claim + complete loop.
RAW_THREADS = 2


@dataclass
class Raw:
    """Result of the raw phase: what the database does without the queue around it."""

    #: One-row INSERTs, each its own commit, per second (None: not measured here, but
    #: in turns with the single enqueues: ``inserts_in_turns``).
    insert_rows_per_s: float | None
    inserts: int
    #: Rows claimed and completed per second by RAW_THREADS threads, until drained.
    claim_rows_per_s: float
    #: Rows completed by the claim + complete loop (all of them, unless something failed).
    rows: int
    batch: int
    threads: int
    seconds: float
    #: How the threads' claims keep apart: "SKIP LOCKED" or (SQLite) "BEGIN IMMEDIATE".
    method: str = "SKIP LOCKED"
    #: The same loop on a copy of the job table (core.bench.rawjobs), rows per second.
    job_rows_per_s: float | None = None


class _Dialect:
    """The raw phase's statements for one vendor, and its plain connections."""

    #: Opens the claim's and the completion's transactions.
    begin = "BEGIN"
    #: How concurrent claims keep apart, for the table's label.
    method = "SKIP LOCKED"
    #: One pending row (its own commit); ``rows`` pending rows; every row gone.
    insert = fill = empty = ""
    #: Claim up to a batch (locked_by, limit), returning the ids; complete those ids.
    claim = complete = ""

    def connect(self):
        """A new plain connection in autocommit mode."""
        raise NotImplementedError

    def create(self) -> list[str]:
        """SCRATCH and its claim index."""
        raise NotImplementedError

    def insert_params(self) -> tuple:
        return ()

    def complete_params(self, ids: list[int]) -> tuple:
        raise NotImplementedError


class _Postgres(_Dialect):
    def connect(self):
        import psycopg
        from psycopg.conninfo import make_conninfo

        known = {d.keyword.decode() for d in psycopg.pq.Conninfo.get_defaults()}
        params = {
            key: value
            for key, value in connection.get_connection_params().items()
            if key in known and value is not None
        }
        return psycopg.connect(make_conninfo(**params), autocommit=True)

    def create(self) -> list[str]:
        return [
            f"CREATE TABLE {SCRATCH} (id bigserial PRIMARY KEY, status text NOT NULL, "
            "locked_by text, run_at timestamptz NOT NULL, priority smallint NOT NULL)",
            # Like job_claim_idx: the pending rows in claim order.
            f"CREATE INDEX {SCRATCH}_claim ON {SCRATCH} (priority DESC, run_at, id) "
            "WHERE status = 'pending'",
        ]

    insert = f"INSERT INTO {SCRATCH} (status, run_at, priority) VALUES ('pending', now(), 0)"
    fill = (
        f"INSERT INTO {SCRATCH} (status, run_at, priority) "
        "SELECT 'pending', now(), 0 FROM generate_series(1, %s)"
    )
    empty = f"TRUNCATE {SCRATCH}"
    claim = (
        f"UPDATE {SCRATCH} SET status = 'processing', locked_by = %s WHERE id IN ("
        f"SELECT id FROM {SCRATCH} WHERE status = 'pending' "
        "ORDER BY priority DESC, run_at, id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id"
    )
    complete = f"UPDATE {SCRATCH} SET status = 'completed' WHERE id = ANY(%s::bigint[])"

    def complete_params(self, ids: list[int]) -> tuple:
        return (ids,)


class _SQLite(_Dialect):
    begin = "BEGIN IMMEDIATE"
    method = "BEGIN IMMEDIATE"

    def connect(self):
        conn = sqlite3.connect(connection.settings_dict["NAME"], timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def create(self) -> list[str]:
        return [
            f"CREATE TABLE {SCRATCH} (id integer PRIMARY KEY, status text NOT NULL, "
            "locked_by text, run_at text NOT NULL, priority smallint NOT NULL)",
            f"CREATE INDEX {SCRATCH}_claim ON {SCRATCH} (priority DESC, run_at, id) "
            "WHERE status = 'pending'",
        ]

    insert = f"INSERT INTO {SCRATCH} (status, run_at, priority) VALUES ('pending', ?, 0)"
    fill = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        f"INSERT INTO {SCRATCH} (status, run_at, priority) "
        "SELECT 'pending', strftime('%Y-%m-%d %H:%M:%f', 'now'), 0 FROM n"
    )
    empty = f"DELETE FROM {SCRATCH}"
    # No SKIP LOCKED: BEGIN IMMEDIATE makes the claims take turns.
    claim = (
        f"UPDATE {SCRATCH} SET status = 'processing', locked_by = ? WHERE id IN ("
        f"SELECT id FROM {SCRATCH} WHERE status = 'pending' "
        "ORDER BY priority DESC, run_at, id LIMIT ?) RETURNING id"
    )
    complete = (
        f"UPDATE {SCRATCH} SET status = 'completed' WHERE id IN (SELECT value FROM json_each(?))"
    )

    def insert_params(self) -> tuple:
        # A Python-side timestamp in Django's SQLite format, as enqueue writes run_at.
        return (datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),)

    def complete_params(self, ids: list[int]) -> tuple:
        return (json.dumps(ids),)


def _dialect() -> _Dialect:
    if connection.vendor == "postgresql":
        return _Postgres()
    if connection.vendor == "sqlite":
        return _SQLite()
    raise NotImplementedError(f"queuebench supports PostgreSQL and SQLite, not {connection.vendor}")


@contextlib.contextmanager
def scratch_table(dialect: _Dialect) -> Iterator:
    """A plain autocommit connection with SCRATCH freshly created; dropped on the way out,
    also on error."""
    conn = dialect.connect()
    try:
        conn.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
        try:
            for statement in dialect.create():
                conn.execute(statement)
            yield conn
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
    finally:
        conn.close()


def _claim_and_complete(
    dialect: _Dialect,
    name: str,
    batch: int,
    errors: list,
    ready: threading.Barrier,
    table=None,
) -> None:
    """One thread of the raw loop: connect, wait at ``ready`` for the others, then claim
    up to ``batch`` pending rows in one transaction and complete them in another, until
    nothing is left to claim. ``table`` has the claim and complete statements (the
    dialect's own by default). Errors go to ``errors``."""
    table = table or dialect
    conn = None
    try:
        conn = dialect.connect()
        ready.wait()
        while True:
            conn.execute(dialect.begin)
            ids = [row[0] for row in conn.execute(table.claim, (name, batch)).fetchall()]
            conn.execute("COMMIT")
            if not ids:
                return
            conn.execute(dialect.begin)
            conn.execute(table.complete, dialect.complete_params(ids))
            conn.execute("COMMIT")
    except BaseException as exc:
        errors.append(exc)
        ready.abort()  # nobody waits for a thread that will not come
    finally:
        if conn is not None:
            conn.close()


def _drain(dialect: _Dialect, batch: int, threads: int, table=None) -> float:
    """Seconds ``threads`` threads take to claim and complete every pending row of the
    filled table (``table``'s statements, or the dialect's own), ``batch`` at a time."""
    errors: list[BaseException] = []
    # The clock starts once every thread has its connection.
    ready = threading.Barrier(threads + 1)
    workers = [
        threading.Thread(
            target=_claim_and_complete,
            args=(dialect, f"raw-{n}", batch, errors, ready, table),
            name=f"queuebench-raw-{n}",
        )
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        ready.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    if errors:  # the first error that is not another thread's broken barrier
        broken = threading.BrokenBarrierError
        raise next((e for e in errors if not isinstance(e, broken)), errors[0])
    return seconds


def _drain_job_copy(dialect: _Dialect, conn, rows: int, batch: int, threads: int) -> float:
    """Rows per second of the claim + complete loop on a copy of the job table
    (``core.bench.rawjobs``), created here and always dropped."""
    copy = rawjobs.job_copy(connection.vendor)
    conn.execute(f"DROP TABLE IF EXISTS {rawjobs.COPY}")
    try:
        copy.prepare(conn)
        for statement in copy.create:
            conn.execute(statement)
        conn.execute(copy.fill, (rows,))
        conn.execute(f"ANALYZE {rawjobs.COPY}")
        seconds = _drain(dialect, batch, threads, copy)
        (done,) = conn.execute(
            f"SELECT count(*) FROM {rawjobs.COPY} WHERE status = 'completed'"
        ).fetchone()
    finally:
        conn.execute(f"DROP TABLE IF EXISTS {rawjobs.COPY}")
    return done / seconds


def _insert_seconds(dialect: _Dialect, conn, count: int) -> float:
    """Seconds ``count`` one-row INSERT commits on SCRATCH take."""
    insert, params = dialect.insert, dialect.insert_params
    started = time.perf_counter()
    for _ in range(count):
        conn.execute(insert, params())
    return time.perf_counter() - started


def inserts_in_turns(
    count: int, call: Callable[[], object], warmed_up: Callable[[], object] = lambda: None
) -> tuple[float, float]:
    """``count`` one-row INSERT commits on SCRATCH (created here and always dropped) and
    ``count`` calls of ``call``, in turns of TURN each, after WARM_UP untimed ones of
    each (``warmed_up`` runs after those): (INSERTs per second, calls per second).

    Taking turns puts both under the same conditions: on a shared machine one commit's
    time drifts within a minute (pgbench, the same INSERT: 0.23 to 0.31 ms), which two
    runs one after the other would count as a difference between them."""
    dialect = _dialect()
    with scratch_table(dialect) as conn:
        _insert_seconds(dialect, conn, WARM_UP)
        for _ in range(WARM_UP):
            call()
        warmed_up()
        insert_seconds = call_seconds = 0.0
        for done in range(0, count, TURN):
            turn = min(TURN, count - done)
            insert_seconds += _insert_seconds(dialect, conn, turn)
            started = time.perf_counter()
            for _ in range(turn):
                call()
            call_seconds += time.perf_counter() - started
    return count / insert_seconds, count / call_seconds


def bench_raw(single: int, rows: int, batch: int, threads: int = RAW_THREADS) -> Raw:
    """The database's own rates on SCRATCH (created here and always dropped): ``single``
    one-row INSERT commits (none with 0: see ``inserts_in_turns``), then ``rows`` pending
    rows claimed ``batch`` at a time and completed by ``threads`` threads, each with its
    own connection, until drained; then the same on a copy of the job table."""
    dialect = _dialect()
    with scratch_table(dialect) as conn:
        insert_rate = None
        if single:
            _insert_seconds(dialect, conn, WARM_UP)
            insert_rate = single / _insert_seconds(dialect, conn, single)

        conn.execute(dialect.empty)
        conn.execute(dialect.fill, (rows,))
        conn.execute(f"ANALYZE {SCRATCH}")
        claim_seconds = _drain(dialect, batch, threads)
        (done,) = conn.execute(
            f"SELECT count(*) FROM {SCRATCH} WHERE status = 'completed'"
        ).fetchone()
        job_rate = _drain_job_copy(dialect, conn, rows, batch, threads)
    return Raw(
        insert_rate,
        single,
        done / claim_seconds,
        done,
        batch,
        threads,
        claim_seconds,
        dialect.method,
        job_rate,
    )
