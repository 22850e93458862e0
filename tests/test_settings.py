"""Environment-driven settings: secret key guard, SQLite tuning, DATABASE_URL."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def load_settings(**env):
    """Import the settings module in a fresh interpreter with ``env``; return the result."""
    environ = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    environ.update(env)
    code = (
        "import json, queueadmin.settings as s;"
        "print(json.dumps({'debug': s.DEBUG, 'db': s.DATABASES['default'],"
        " 'hosts': s.ALLOWED_HOSTS}, default=str))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True
    )


def test_refuses_to_start_with_debug_off_and_no_secret_key():
    result = load_settings(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG=0" in result.stderr


def test_starts_with_debug_off_when_a_secret_key_is_given():
    result = load_settings(DEBUG="0", SECRET_KEY="s3cret-for-tests")
    assert result.returncode == 0, result.stderr
    assert '"debug": false' in result.stdout


def test_allowed_hosts_come_from_the_environment():
    result = load_settings(ALLOWED_HOSTS="jobs.example.com, ops.example.com")
    assert '"hosts": ["jobs.example.com", "ops.example.com"]' in result.stdout


def test_database_url_selects_postgresql():
    result = load_settings(DATABASE_URL="postgres://u@db.example:5433/jobs")
    assert '"ENGINE": "django.db.backends.postgresql"' in result.stdout
    assert '"NAME": "jobs"' in result.stdout
    assert '"PORT": 5433' in result.stdout


def test_default_database_is_a_sqlite_file_under_var():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    code = "import queueadmin.settings as s; print(s.DATABASES['default']['NAME'])"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.stdout.strip().endswith("var/queueadmin.sqlite3")


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_immediate_transactions_and_a_busy_timeout():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite tuning; this run is on " + connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 10_000
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
