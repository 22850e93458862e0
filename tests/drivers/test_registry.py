"""get_driver: one driver per vendor, imported on first use, so SQLite never needs psycopg."""

import os
import subprocess
import sys

import pytest

from core.drivers import driver_class, get_driver
from tests.workers import ROOT

IMPORTS_PSYCOPG = """
import os, sys
import django
django.setup()
import core.admin, core.api.urls, core.dashboard.urls, core.maintenance, core.queue
import core.worker.runner
from core.drivers import driver_class, get_driver
get_driver()
{extra}
print("psycopg" in sys.modules)
"""


def _psycopg_imported(extra: str = "") -> bool:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["QUEUEADMIN_VAR_DIR"] = os.environ.get("QUEUEADMIN_VAR_DIR", str(ROOT / "var"))
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS_PSYCOPG.format(extra=extra)],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "queueadmin.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip() == "True"


def test_a_sqlite_project_never_imports_psycopg():
    assert _psycopg_imported() is False


def test_the_postgresql_driver_imports_psycopg_when_it_is_used():
    assert _psycopg_imported('driver_class("postgresql")') is True


@pytest.mark.django_db
def test_get_driver_serves_the_configured_vendor():
    from django.db import connection

    assert get_driver().vendor == connection.vendor


def test_an_unsupported_vendor_is_refused_by_name():
    with pytest.raises(NotImplementedError, match="not 'mysql'"):
        driver_class("mysql")
