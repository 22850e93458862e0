"""The demo is an app of its own: a project that installs only queueadmin gets none of it."""

import json
import os
import subprocess
import sys

import pytest

from tests.workers import ROOT

DEMO_COMMANDS = {"enqueue_demo", "ensure_demo_user", "seed_jobs"}

REGISTERED = (
    "import django, json; django.setup(); "
    "from core.durable.registry import autodiscover, registered; "
    "autodiscover(); print(json.dumps(registered()))"
)


def _run(settings: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "QUEUEADMIN_HANDLER_MODULES"}
    env["DJANGO_SETTINGS_MODULE"] = settings
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("settings", "demo"),
    [("tests.settings_without_demo", False), ("queueadmin.settings", True)],
)
def test_demo_handlers_are_registered_only_where_the_demo_app_is_installed(settings, demo):
    names = json.loads(_run(settings, "-c", REGISTERED))
    assert "queueadmin.noop" in names
    assert any(name.startswith("demo.") for name in names) is demo


@pytest.mark.parametrize(
    ("settings", "demo"),
    [("tests.settings_without_demo", False), ("queueadmin.settings", True)],
)
def test_demo_commands_are_listed_only_where_the_demo_app_is_installed(settings, demo):
    commands = set(_run(settings, "manage.py", "help", "--commands").split())
    assert {"runworker", "queue_maintenance", "queuebench", "stream"} <= commands
    assert (commands >= DEMO_COMMANDS) is demo
    assert not (DEMO_COMMANDS & commands) or demo
