"""manage.py queue_health: one line per check, --json, exit codes, --liveness."""

import json
import os
import subprocess
import sys
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.insights import health
from tests.health import add_worker, due_job, healthy
from tests.workers import ROOT, database_url

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, int]:
    """The command's output and exit code, run in this process."""
    out = StringIO()
    try:
        call_command("queue_health", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc.returncode
    return out.getvalue(), 0


def test_a_healthy_queue_prints_one_ok_line_per_check_and_exits_0():
    healthy()
    out, code = run()
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[:2] for line in lines] == [["ok", name] for name in health.NAMES]
    assert lines[0].startswith("ok    database      reachable (")


def test_a_failing_check_prints_fail_and_exits_1():
    out, code = run()  # no worker, maintenance never ran
    assert code == 1
    assert "FAIL  workers       no live worker" in out.splitlines()


def test_a_failing_check_s_detail_follows_its_line():
    healthy()
    add_worker("host-a:99:x", stuck=[{"thread": "handler-1", "job": 5, "silent_seconds": 900}])
    out, code = run()
    assert code == 1
    assert "      host-a:99:x: handler-1 on job 5" in out


def test_json_prints_the_same_checks():
    healthy()
    due_job("default")
    out, code = run("--json")
    assert code == 0
    report = json.loads(out)
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == list(health.NAMES)
    for check in report["checks"]:
        assert set(check) == {"name", "ok", "message", "numbers"}
        assert check["ok"] is True


def test_json_of_a_failing_report_says_which_and_exits_1():
    out, code = run("--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert {c["name"] for c in report["checks"] if not c["ok"]} == {"workers", "maintenance"}


def test_liveness_passes_while_the_file_is_fresh(tmp_path):
    path = tmp_path / "alive"
    path.touch()
    out, code = run("--liveness", str(path))
    assert code == 0
    assert out.startswith("ok    liveness")


def test_liveness_fails_when_the_file_is_older_than_the_stale_time(tmp_path):
    path = tmp_path / "alive"
    path.touch()
    old = time.time() - 3600
    os.utime(path, (old, old))
    out, code = run("--liveness", str(path))
    assert code == 1
    assert out.startswith("FAIL  liveness")


def test_liveness_fails_without_the_file(tmp_path):
    _, code = run("--liveness", str(tmp_path / "missing"))
    assert code == 1


def test_liveness_takes_a_max_age(tmp_path):
    path = tmp_path / "alive"
    path.touch()
    old = time.time() - 20
    os.utime(path, (old, old))
    assert run("--liveness", str(path), "--max-age", "10")[1] == 1
    assert run("--liveness", str(path), "--max-age", "60")[1] == 0


def test_a_max_age_that_is_not_positive_is_refused(tmp_path):
    with pytest.raises(CommandError, match="max-age"):
        call_command("queue_health", "--liveness", str(tmp_path / "f"), "--max-age", "-1")


def _process(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url()}
    command = [sys.executable, str(ROOT / "manage.py"), "queue_health", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_the_process_exits_0_and_1_for_a_liveness_probe(tmp_path):
    path = tmp_path / "alive"
    path.touch()
    assert _process("--liveness", str(path)).returncode == 0
    old = time.time() - 3600
    os.utime(path, (old, old))
    assert _process("--liveness", str(path)).returncode == 1


def test_the_process_exits_1_when_a_check_fails():
    finished = _process("--json")  # the test's rows are not committed: no worker
    assert finished.returncode == 1
    assert json.loads(finished.stdout)["ok"] is False
