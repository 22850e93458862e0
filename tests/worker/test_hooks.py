"""Worker hooks: the per-thread setup (ctx.resources, teardown at shutdown), the
worker_died signal, the job describer in log lines."""

import logging
import os
import signal
import subprocess
import sys

import pytest

from core import queue, signals
from core.models import Job
from core.worker import hooks
from core.worker.hooks import WorkerSetupError
from core.worker.runner import Worker, WorkerOptions
from core.worker.supervisor import Supervisor
from tests.processes.conftest import finish
from tests.worker import hook_funcs
from tests.workers import run_burst, start_runworker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

FUNCS = "tests.worker.hook_funcs"


@pytest.fixture
def died():
    """The worker_died signals sent during the test."""
    sent = []

    def receiver(sender, **kwargs):
        sent.append(kwargs)

    signals.worker_died.connect(receiver, weak=False)
    yield sent
    signals.worker_died.disconnect(receiver)


@pytest.fixture(autouse=True)
def no_calls():
    hook_funcs.CALLS.clear()


def test_each_handler_thread_runs_the_setup_once_and_its_jobs_get_its_value(settings):
    settings.QUEUEADMIN = {"WORKER_SETUP": f"{FUNCS}.counting_setup"}
    jobs = [queue.enqueue("test.hooks.resources") for _ in range(6)]
    run_burst(concurrency=2)
    setups = [name for event, name in hook_funcs.CALLS if event == "setup"]
    assert len(set(setups)) == len(setups) == 2
    outputs = [Job.objects.get(pk=job.pk).output for job in jobs]
    assert {out["thread"] for out in outputs} <= set(setups)


def test_the_setup_is_torn_down_in_each_thread_when_the_worker_stops(settings):
    settings.QUEUEADMIN = {"WORKER_SETUP": f"{FUNCS}.counting_setup"}
    run_burst(concurrency=3)
    setups = sorted(name for event, name in hook_funcs.CALLS if event == "setup")
    teardowns = sorted(name for event, name in hook_funcs.CALLS if event == "teardown")
    assert setups == teardowns
    assert len(setups) == 3


def test_without_a_setup_ctx_resources_is_none():
    job = queue.enqueue("test.hooks.resources")
    run_burst()
    job.refresh_from_db()
    assert (job.status, job.output) == ("completed", None)


def test_a_setup_that_raises_stops_the_worker_with_a_clear_error(settings, died):
    settings.QUEUEADMIN = {"WORKER_SETUP": f"{FUNCS}.failing_setup"}
    job = queue.enqueue("test.echo")
    with pytest.raises(WorkerSetupError, match="cannot reach the payment provider"):
        Worker(WorkerOptions(burst=True, poll_interval=0.01)).run()
    assert Job.objects.get(pk=job.pk).status == "pending"
    assert died[0]["kind"] == "thread"
    assert "its worker setup raised RuntimeError" in died[0]["reason"]


def test_a_setup_path_that_cannot_be_imported_is_a_startup_error_naming_the_setting(settings):
    settings.QUEUEADMIN = {"WORKER_SETUP": f"{FUNCS}.nothing_here"}
    with pytest.raises(WorkerSetupError, match=r"QUEUEADMIN\['WORKER_SETUP'\]: cannot import"):
        Worker(WorkerOptions(burst=True)).run()


def test_runworker_with_a_failing_setup_exits_non_zero_saying_why(tmp_path):
    log = (tmp_path / "w.log").open("w")
    env = {"QUEUEADMIN_HANDLER_MODULES": f"tests.handlers,{FUNCS}"}
    code = _run_with_setting(f"{FUNCS}.failing_setup", log, env)
    log.close()
    assert code != 0
    assert "cannot reach the payment provider" in (tmp_path / "w.log").read_text()


def _run_with_setting(setup: str, log, env: dict) -> int:
    """runworker --burst in a process whose settings name ``setup`` as WORKER_SETUP."""
    from tests.workers import ROOT, database_url

    code = (
        "import django, os, sys; from django.conf import settings;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'queueadmin.settings');"
        "django.setup();"
        f"settings.QUEUEADMIN['WORKER_SETUP'] = {setup!r};"
        "from django.core.management import call_command;"
        "call_command('runworker', '--burst')"
    )
    environ = {**os.environ, "DATABASE_URL": database_url(), **env}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, stdout=log, stderr=log, timeout=60
    ).returncode


def test_a_decorated_setup_runs_per_thread_and_is_torn_down_on_sigterm(tmp_path):
    hook_log = tmp_path / "hooks.log"
    out = (tmp_path / "w.log").open("w")
    env = {
        "QUEUEADMIN_HANDLER_MODULES": "tests.handlers,tests.worker.hook_registered",
        "HOOK_LOG": str(hook_log),
    }
    proc = start_runworker("--concurrency", "2", "--poll-interval", "0.05", env=env, log=out)
    wait_for(lambda: hook_log.exists() and hook_log.read_text().count("setup") == 2)
    wait_for(lambda: " started\n" in (tmp_path / "w.log").read_text())
    proc.send_signal(signal.SIGTERM)
    assert finish(proc) == 0
    out.close()
    lines = hook_log.read_text().splitlines()
    assert sorted(line.split()[1] for line in lines if line.startswith("setup")) == sorted(
        line.split()[1] for line in lines if line.startswith("teardown")
    )
    assert len(lines) == 4


def test_a_handler_thread_dying_outside_a_job_sends_worker_died_and_is_replaced(died):
    jobs = [queue.enqueue("test.echo", max_attempts=1) for _ in range(3)]
    worker = Worker(WorkerOptions(burst=True, poll_interval=0.01, concurrency=1))
    marked = []

    def mark(run):
        marked.append(run.job.id)
        if len(marked) == 1:
            raise RuntimeError("bookkeeping bug")
        return True

    worker._mark = mark
    worker.run()
    assert [d["kind"] for d in died] == ["thread"]
    assert died[0]["reason"] == "RuntimeError: bookkeeping bug"
    assert (died[0]["worker_id"], died[0]["thread"]) == (worker.worker_id, "queueadmin-exec-0")
    assert sorted(statuses := [Job.objects.get(pk=j.pk).status for j in jobs]) == [
        "completed",
        "completed",
        "failed",
    ], statuses


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (
            "import sys; sys.exit(5)",
            {"exitcode": 5, "signal_name": None, "reason": "exited with code 5"},
        ),
        (
            "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
            {"exitcode": None, "signal_name": "SIGKILL", "reason": "killed by SIGKILL"},
        ),
    ],
)
def test_the_supervisor_sends_worker_died_for_a_process_that_died(died, script, expected):
    supervisor = Supervisor([sys.executable, "-c", script], 1)
    supervisor._start(0)
    proc = supervisor.children[0]
    proc.wait(timeout=30)
    supervisor._died(0, proc)
    assert len(died) == 1
    assert {k: died[0][k] for k in expected} == expected
    assert died[0]["kind"] == "process"
    assert died[0]["worker_id"].endswith(f":{proc.pid}")


def test_the_describer_text_is_in_each_job_log_line(settings, caplog):
    settings.QUEUEADMIN = {"JOB_DESCRIBER": f"{FUNCS}.describe"}
    job = queue.enqueue("test.echo", {"invoice": 42})
    with caplog.at_level(logging.INFO, logger="queueadmin.worker.jobs"):
        run_burst()
    line = next(r.getMessage() for r in caplog.records if f"job id={job.pk} " in r.getMessage())
    assert line.endswith(' desc="invoice 42"')


def test_a_describer_that_raises_never_breaks_the_worker(settings, caplog):
    settings.QUEUEADMIN = {"JOB_DESCRIBER": f"{FUNCS}.broken_describer"}
    jobs = [queue.enqueue("test.echo") for _ in range(2)]
    with caplog.at_level(logging.INFO, logger="queueadmin.worker"):
        run_burst()
    assert [Job.objects.get(pk=j.pk).status for j in jobs] == ["completed"] * 2
    lines = [r.getMessage() for r in caplog.records if r.name == "queueadmin.worker.jobs"]
    assert len(lines) == 2
    assert not any("desc=" in line for line in lines)


def test_a_describer_registered_for_a_job_type_names_its_jobs_in_runworker_logs(tmp_path):
    queue.enqueue("test.echo", {"invoice": 7})
    out = (tmp_path / "w.log").open("w")
    env = {
        "QUEUEADMIN_HANDLER_MODULES": "tests.handlers,tests.worker.hook_registered",
        "HOOK_LOG": str(tmp_path / "hooks.log"),
    }
    proc = start_runworker("--burst", env=env, log=out)
    assert finish(proc) == 0
    out.close()
    assert 'desc="echo of 7"' in (tmp_path / "w.log").read_text()


def test_describe_returns_nothing_without_a_describer():
    class Claimed:
        job_type = "test.nobody"
        payload = {}

    assert hooks.describe(Claimed()) == ""
