"""The app's identity in a project: label, tables, permissions, URL namespaces, loggers,
templates and static files all named ``queueadmin``; and databases from before it."""

import ast
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.staticfiles import finders
from django.core import checks
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from core.drivers.tables import sql
from core.legacy import LEGACY_MIGRATIONS, LEGACY_TABLES
from tests.workers import ROOT

CORE = ROOT / "core"


def test_the_app_label_is_queueadmin():
    assert apps.get_app_config("queueadmin").name == "core"
    assert [c.label for c in apps.get_app_configs() if c.name == "core"] == ["queueadmin"]


def test_every_table_is_named_after_the_label():
    tables = [model._meta.db_table for model in apps.get_app_config("queueadmin").get_models()]
    assert len(tables) >= 14
    assert all(table.startswith("queueadmin_") for table in tables)


@pytest.mark.django_db
def test_the_database_holds_queueadmin_tables_and_no_core_ones():
    names = set(connection.introspection.table_names())
    assert {"queueadmin_job", "queueadmin_jobevent", "queueadmin_worker"} <= names
    assert not [name for name in names if name.startswith("core_")]


@pytest.mark.django_db
def test_permissions_are_named_after_the_label(django_user_model):
    permission = Permission.objects.get(codename="view_job")
    assert permission.content_type.app_label == "queueadmin"
    user = django_user_model.objects.create_user("viewer")
    user.user_permissions.add(permission)
    assert user.has_perm("queueadmin.view_job")


def test_url_namespaces_are_the_apps_own():
    assert reverse("queueadmin:overview") == "/"
    assert reverse("queueadmin_api:jobs") == "/api/jobs"
    assert reverse("queueadmin_demo:progress") == "/examples/progress/"


def test_url_checks_find_no_namespace_clash():
    assert [m for m in checks.run_checks(tags=[checks.Tags.urls]) if m.id == "urls.W005"] == []


def test_driver_sql_takes_table_names_from_the_models():
    assert sql("SELECT 1 FROM {Job} JOIN {JobEvent}") == (
        'SELECT 1 FROM "queueadmin_job" JOIN "queueadmin_jobevent"'
    )
    assert sql("{filters} '{}'") == "{filters} '{}'"


TABLE_LITERAL = re.compile(
    r'\b(FROM|INTO|UPDATE|JOIN|TABLE|ANALYZE)\s+"?(queueadmin|core)_\w+', re.I
)


def test_no_driver_names_a_table_literally():
    literal = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in (CORE / "drivers").rglob("*.py")
        for match in TABLE_LITERAL.finditer(path.read_text())
    ]
    assert literal == []
    assert TABLE_LITERAL.search('UPDATE "queueadmin_job" SET')


def _logger_names() -> list[str]:
    names = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "getLogger"
                and node.args
            ):
                arg = node.args[0]
                names.append(arg.value if isinstance(arg, ast.Constant) else ast.unparse(arg))
    return names


def test_every_logger_is_under_queueadmin():
    names = _logger_names()
    assert names
    assert [name for name in names if name.split(".")[0] != "queueadmin"] == []


def test_templates_and_static_files_are_namespaced():
    templates = [p.relative_to(ROOT / "templates") for p in (ROOT / "templates").rglob("*.*")]
    static = [p.relative_to(ROOT / "static") for p in (ROOT / "static").rglob("*.*")]
    assert templates
    assert static
    # admin/queueadmin/ is where the admin looks for one app's page overrides.
    ours = {("queueadmin",), ("admin", "queueadmin")}
    assert [p for p in templates if p.parts[:1] not in ours and p.parts[:2] not in ours] == []
    assert [p for p in static if p.parts[0] != "queueadmin"] == []
    assert finders.find("queueadmin/dashboard.css")


@pytest.mark.django_db
def test_a_projects_own_base_template_does_not_replace_the_dashboards(tmp_path, staff_client):
    (tmp_path / "base.html").write_text("<p>the project's own base</p>")
    (tmp_path / "css").mkdir()
    engine = {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [tmp_path, ROOT / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
    with override_settings(TEMPLATES=[engine]):
        html = staff_client.get("/jobs/").content.decode()
    assert "the project's own base" not in html
    assert '<link rel="stylesheet" href="/static/queueadmin/dashboard.css">' in html


def _legacy_database(path: Path, migrations: set[str]) -> None:
    """A SQLite file shaped like one made before the label was queueadmin."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE django_migrations (id integer PRIMARY KEY, app text, name text, "
            "applied datetime)"
        )
        db.executemany(
            "INSERT INTO django_migrations (app, name, applied) VALUES ('core', ?, '2026-11-30')",
            [(name,) for name in sorted(migrations)],
        )
        for table in LEGACY_TABLES:
            db.execute(f"CREATE TABLE {table} (id integer PRIMARY KEY)")
        db.execute("CREATE INDEX job_claim_idx ON core_job (id)")


def _migrate(path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}"}
    return subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_stops_with_one_sentence_on_a_pre_release_database(tmp_path):
    database = tmp_path / "old.sqlite3"
    _legacy_database(database, set(LEGACY_MIGRATIONS) | {"0009_streams"})
    done = _migrate(database)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    [line] = [line for line in done.stderr.splitlines() if line.strip()]
    assert "made by a pre-release queueadmin" in line
    assert f"delete the file {database}" in line
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "queueadmin_job" not in tables  # nothing was migrated


def test_migrate_leaves_another_apps_core_tables_alone(tmp_path):
    database = tmp_path / "other.sqlite3"
    _legacy_database(database, {"0001_initial"})  # not queueadmin's history
    with sqlite3.connect(database) as db:
        db.execute("DROP INDEX job_claim_idx")
    done = _migrate(database)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"queueadmin_job", "core_job"} <= tables


def test_the_version_is_available_at_run_time():
    import importlib.metadata

    import core

    assert core.__version__ == importlib.metadata.version("queueadmin")
