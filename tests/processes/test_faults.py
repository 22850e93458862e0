"""Faults injected from outside real runworker processes: a worker killed inside the cron
task, a database outage, a lost claim reply (through a TCP proxy on PostgreSQL), a job
that kills its process, a database that is not there or not migrated."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core import queue
from core.models import CronSchedule, Job, JobEvent
from tests.processes.conftest import finish
from tests.proxy import Proxy
from tests.workers import ROOT, start_runworker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

#: Short leases and frequent maintenance for the workers of these tests.
FAST = {"DJANGO_SETTINGS_MODULE": "tests.settings_faults"}
#: Where a test finds a statement by its text (sent at each execution only unprepared).
UNPREPARED = {"DJANGO_SETTINGS_MODULE": "tests.settings_faults_unprepared"}


def stop(*procs) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        finish(proc)


@pytest.fixture
def proxy(postgres_only):
    """A proxy in front of the test database (PostgreSQL only: SQLite has no connection)."""
    settings = connection.settings_dict
    server = Proxy((settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432)))
    yield server
    server.close()


@pytest.fixture
def sqlite_only(db):
    """Skip unless the suite runs on SQLite (whose outage here is a held write lock)."""
    if connection.vendor != "sqlite":
        pytest.skip("needs SQLite: a held write lock stands in for the outage")


def through(proxy: Proxy) -> dict[str, str]:
    """The environment of a runworker that reaches the test database through ``proxy``."""
    settings = connection.settings_dict
    return {"DATABASE_URL": proxy.url(settings["NAME"], settings["USER"])}


# 1. A worker killed inside the cron task -----------------------------------------------


def test_a_worker_killed_inside_the_cron_task_loses_and_doubles_no_fire_time(tmp_path):
    schedule = queue.add_cron("minutely", "* * * * *", "test.echo", allow_overlap=True)
    first = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=3)
    CronSchedule.objects.filter(pk=schedule.pk).update(next_run_at=first)
    stalled = tmp_path / "stalled-pid"
    env = {**FAST, "QUEUEADMIN_TEST_STALL_CRON": str(stalled)}
    workers = [start_runworker("-v", "0", env=env) for _ in range(3)]
    try:
        pid = int(wait_for(lambda: stalled.exists() and stalled.read_text(), timeout=30))
        os.kill(pid, signal.SIGKILL)  # dies holding the cron task's lock
        killed_at = time.monotonic()
        wait_for(lambda: Job.objects.exists(), timeout=10, message="the cron task taken over")
        taken_over_in = time.monotonic() - killed_at
        time.sleep(1)  # every fire time of the gap is enqueued in that one run
        fires = sorted(Job.objects.values_list("idempotency_key", flat=True))
        crossed = int((timezone.now() - first).total_seconds() // 60) + 1
    finally:
        stop(*(w for w in workers if w.pid != pid))
    assert taken_over_in < 5  # about one heartbeat, not MAINTENANCE_LOCK_SECONDS
    expected = [
        f"cron:{schedule.pk}:{(first + timedelta(minutes=n)).isoformat()}" for n in range(crossed)
    ]
    assert fires == expected  # every minute boundary crossed, exactly once


# 2. A database outage ---------------------------------------------------------------------


def run_through_outage(tmp_path, env: dict, begin, end) -> None:
    """Eight 2 s jobs on a worker of concurrency 4; ``begin()`` the outage once four are
    running, ``end()`` it 20 s later; then every job is completed exactly once, none is
    left processing, and the worker logged one line per failure."""
    runs = tmp_path / "runs"
    jobs = queue.enqueue_many(
        [{"job_type": "test.record_sleep", "payload": {"file": str(runs), "seconds": 2}}] * 8
    )
    log = (tmp_path / "worker.log").open("w+b")
    worker = start_runworker("--concurrency", "4", env=env, log=log)
    try:
        wait_for(lambda: runs.exists() and len(runs.read_text().split()) >= 4, timeout=30)
        begin()
        time.sleep(20)
        end()
        wait_for(
            lambda: Job.objects.filter(status="completed").count() == 8,
            timeout=60,
            message="every job completed after the outage",
        )
    finally:
        stop(worker)
    assert Job.objects.filter(status="processing").count() == 0
    executions = Counter(int(line) for line in runs.read_text().split())
    assert executions == Counter({job.pk: 1 for job in jobs})  # each ran once
    assert not JobEvent.objects.filter(type="reclaimed").exists()
    log.seek(0)
    output = log.read().decode()
    errors = [line for line in output.splitlines() if " ERROR " in line]
    distinct = [re.sub(r"^.* ERROR \S+ ", "", line) for line in errors]
    assert 0 < len(errors) < 60, Counter(distinct)  # one line per failure, not a page each
    assert output.count("Traceback") <= len(set(distinct))


def test_outcomes_of_a_20_s_outage_are_written_when_it_ends_and_nothing_is_left_processing(
    proxy, tmp_path
):
    run_through_outage(tmp_path, through(proxy), proxy.cut, proxy.restore)


def test_outcomes_of_a_20_s_sqlite_lock_are_written_when_it_ends_and_nothing_is_left_processing(
    sqlite_only, tmp_path
):
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings_sqlite_busy"}
    try:
        run_through_outage(
            tmp_path, env, lambda: holder.execute("BEGIN EXCLUSIVE"), holder.rollback
        )
    finally:
        holder.close()


# 3. A claim whose reply is lost ---------------------------------------------------------------


def test_jobs_of_a_claim_whose_reply_was_lost_are_reclaimed_and_run(proxy, tmp_path):
    runs = tmp_path / "runs"
    jobs = queue.enqueue_many(
        [{"job_type": "test.record", "payload": {"file": str(runs)}} for _ in range(6)]
    )
    proxy.lose_reply_to(b"attempts = j.attempts + 1, locked_by")  # the claim statement
    worker = start_runworker(env={**UNPREPARED, **through(proxy)})
    try:
        wait_for(
            lambda: Job.objects.filter(status="completed").count() == 6,
            timeout=30,
            message="every job completed",
        )
    finally:
        stop(worker)
    assert proxy.lost_replies == 1
    assert set(int(line) for line in runs.read_text().split()) == {job.pk for job in jobs}
    reclaimed = JobEvent.objects.filter(type="reclaimed").values_list("job_id", flat=True)
    assert reclaimed  # the lost claim's jobs ran out of lease instead of staying processing


# 4. A job that kills its process ---------------------------------------------------------------


def test_a_job_that_kills_its_worker_fails_on_its_own_attempts_and_nobody_elses(tmp_path):
    specs = [{"job_type": "test.echo", "payload": {"n": n}} for n in range(199)]
    specs.insert(5, {"job_type": "test.exit"})
    queue.enqueue_many(specs)
    supervisor = start_runworker(
        "--processes", "2", "--concurrency", "1", "--batch-size", "20", "-v", "0", env=FAST
    )
    try:
        wait_for(
            lambda: Job.objects.filter(status__in=["completed", "failed"]).count() == 200,
            timeout=90,
            message="every job finished",
        )
    finally:
        stop(supervisor)
    poison = Job.objects.get(job_type="test.exit")
    assert (poison.status, poison.attempts) == ("failed", 3)
    assert [e["reason"] for e in poison.errors] == ["worker_lost"] * 3
    others = Job.objects.exclude(pk=poison.pk)
    odd = others.exclude(status="completed").values("id", "status", "attempts", "errors")
    assert list(odd) == []
    assert list(others.exclude(attempts=1).values_list("id", "attempts")) == []
    assert list(others.exclude(errors=[]).values_list("id", flat=True)) == []


# 5. A database that is not there, or not migrated -----------------------------------------------


def missing_database_url(tmp_path) -> str:
    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        host = settings["HOST"] or "127.0.0.1"
        return f"postgres://{settings['USER']}@{host}:{settings['PORT'] or 5432}/no_such_db"
    return f"sqlite:///{tmp_path / 'empty.sqlite3'}"  # created empty: not migrated


def stderr_lines_on_missing_database(tmp_path, *command: str) -> list[str]:
    """``manage.py COMMAND`` against a missing (PostgreSQL) or unmigrated (SQLite)
    database: the non-blank lines of its stderr, once it exited with status 1."""
    done = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": missing_database_url(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    return [line for line in done.stderr.splitlines() if line.strip()]


def test_runworker_on_a_missing_or_unmigrated_database_exits_with_one_line(tmp_path):
    lines = stderr_lines_on_missing_database(tmp_path, "runworker", "--burst")
    assert len(lines) == 1, lines
    if connection.vendor == "postgresql":
        assert '"no_such_db"' in lines[0]
        assert "createdb no_such_db" in lines[0]
    else:
        assert "empty.sqlite3 is not migrated" in lines[0]
        assert "python manage.py migrate" in lines[0]


@pytest.mark.parametrize(
    "command",
    [
        ["queuebench", "--only", "raw"],
        ["prunebench"],
        ["streambench"],
        ["dashboardbench", "--runs", "1"],
    ],
    ids=lambda command: command[0],
)
def test_a_benchmark_on_a_missing_or_unmigrated_database_exits_with_one_line(tmp_path, command):
    lines = stderr_lines_on_missing_database(tmp_path, *command)
    assert len(lines) == 1, lines
    expected = "createdb no_such_db" if connection.vendor == "postgresql" else "is not migrated"
    assert expected in lines[0]


FIRST_REQUEST = """
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
response = Client().get("/")
print(response.status_code)
print(response.content.decode())
"""


def test_the_dashboards_first_request_on_a_missing_database_says_what_to_do(tmp_path):
    env = {**os.environ, "DATABASE_URL": missing_database_url(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", FIRST_REQUEST],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "queueadmin.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    status, message = done.stdout.split("\n", 1)
    assert status == "503", done.stdout + done.stderr
    assert len(message.strip().splitlines()) == 1
    assert "migrate" in message
