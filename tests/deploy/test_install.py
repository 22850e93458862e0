"""Adoption: the wheel installed into a fresh virtualenv and a fresh `startproject` project,
set up by following the README's "Install into your Django project", works end to end.

The project also has its own templates/base.html and an app whose URL namespace is
"dashboard", which must not leak into queueadmin's pages. On a PostgreSQL run the project
uses PostgreSQL (the ``postgres`` extra); otherwise SQLite.
"""

import json
import os
import re
import subprocess
import sys
import textwrap
import uuid
import zipfile
from pathlib import Path

import pytest
from django.db import connection

from tests.workers import ROOT

README = (ROOT / "README.md").read_text()
PREFIX = "/queue/"

pytestmark = pytest.mark.django_db  # reads the suite's vendor


def readme_block(first_line: str) -> str:
    """The README's fenced code block that starts with ``first_line``."""
    for block in re.findall(r"```python\n(.*?)```", README, flags=re.S):
        if block.startswith(first_line):
            return block
    raise AssertionError(f"no README block starts with {first_line!r}")


def run(*args, cwd: Path, env: dict | None = None, timeout: float = 300) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


VERIFY = """
import json, os, re
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from django.contrib.auth import get_user_model
from django.test import Client
from core.models import Job

client = Client()
client.force_login(get_user_model().objects.get(username="ops"))
first = Job.objects.order_by("id").first()
pages = {}
for path in [
    "", "jobs/", f"jobs/{first.pk}/", "queues/", "tokens/", "cron/", "streams/",
    "workers/", "api-keys/", "api/jobs", f"api/jobs/{first.pk}", "api/openapi.json",
    "api/metrics",
]:
    response = client.get("PREFIX" + path)
    text = response.content.decode()
    pages[path] = {
        "status": response.status_code,
        "type": response["Content-Type"],
        "text": text,
        "links": sorted(set(re.findall(r'(?:href|action|hx-get|hx-post)="(/[^"]*)"', text))),
    }
jobs = list(Job.objects.order_by("id").values("job_type", "status", "output"))
print(json.dumps({"pages": pages, "jobs": jobs}))
""".replace("PREFIX", PREFIX)


@pytest.fixture(scope="module")
def project(tmp_path_factory, django_db_setup, django_db_blocker):
    """A fresh project set up by the README's steps, its jobs run by `runworker --burst`."""
    with django_db_blocker.unblock():
        vendor, settings_dict = connection.vendor, dict(connection.settings_dict)
    tmp = tmp_path_factory.mktemp("adoption")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QUEUEADMIN", "DJANGO", "DATABASE_URL", "DEBUG", "SECRET_KEY"))
    }
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp / "dist", ROOT, cwd=tmp)
    [wheel] = (tmp / "dist").glob("queueadmin-*.whl")
    run(sys.executable, "-m", "venv", tmp / "venv", cwd=tmp)
    python = tmp / "venv" / "bin" / "python"
    extra = "[postgres]" if vendor == "postgresql" else ""
    run(python, "-m", "pip", "install", "-q", f"{wheel}{extra}", cwd=tmp, env=env)
    site = tmp / "project"
    site.mkdir()
    run(tmp / "venv" / "bin" / "django-admin", "startproject", "mysite", site, cwd=tmp, env=env)
    for app in ("shop", "dashboard"):
        run(python, "manage.py", "startapp", app, cwd=site, env=env)

    settings = site / "mysite" / "settings.py"
    database = ""
    if vendor == "postgresql":
        name = f"adoption_{uuid.uuid4().hex[:8]}"
        database = textwrap.dedent(f"""
            DATABASES = {{"default": {{
                "ENGINE": "django.db.backends.postgresql", "NAME": {name!r},
                "USER": {settings_dict["USER"]!r}, "PASSWORD": {settings_dict["PASSWORD"]!r},
                "HOST": {settings_dict["HOST"] or "127.0.0.1"!r},
                "PORT": {str(settings_dict["PORT"] or 5432)!r},
            }}}}
            """)
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    settings.write_text(
        settings.read_text()
        + "\n"
        + readme_block("# settings.py: add to your project's settings")
        + '\nINSTALLED_APPS += ["shop", "dashboard"]\n'
        + 'TEMPLATES[0]["DIRS"] = [BASE_DIR / "templates"]\n'
        + database
    )
    urls = site / "mysite" / "urls.py"
    urls.write_text(
        urls.read_text().replace(
            "from django.urls import path", "from django.urls import include, path"
        )
        + "\n"
        + readme_block("# urls.py: add to your project's URLconf")
        + '\nurlpatterns += [path("dashboard/", include("dashboard.urls"))]\n'
    )
    (site / "templates").mkdir()
    (site / "templates" / "base.html").write_text("<p>THE PROJECT'S OWN BASE</p>")
    (site / "dashboard" / "urls.py").write_text(
        "from django.http import HttpResponse\nfrom django.urls import path\n\n"
        'app_name = "dashboard"\n'
        'urlpatterns = [path("", lambda r: HttpResponse("mine"), name="overview"),\n'
        '               path("jobs/", lambda r: HttpResponse("mine"), name="jobs")]\n'
    )
    (site / "shop" / "jobs.py").write_text(readme_block("# shop/jobs.py"))
    (site / "shop" / "tasks.py").write_text(
        "from django.tasks import task\n\n\n@task\ndef add(a, b):\n    return a + b\n"
    )
    try:
        run(python, "manage.py", "migrate", "--noinput", cwd=site, env=env)
        checked = run(python, "manage.py", "check", cwd=site, env=env)
        run(
            python, "manage.py", "createsuperuser", "--noinput", "--username", "ops",
            "--email", "ops@example.com", cwd=site, env={**env, "DJANGO_SUPERUSER_PASSWORD": "x"},
        )  # fmt: skip
        enqueue = readme_block("# anywhere in your code") + (
            "from shop.tasks import add\nadd.enqueue(2, 3)\n"
        )
        run(python, "manage.py", "shell", "-c", enqueue, cwd=site, env=env)
        worker = run(python, "manage.py", "runworker", "--burst", cwd=site, env=env, timeout=120)
        result = json.loads(run(python, "-c", VERIFY, cwd=site, env=env).splitlines()[-1])
        yield {"wheel": wheel, "check": checked, "worker": worker, **result}
    finally:
        if database:
            with django_db_blocker.unblock(), connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_wheel_holds_the_app_its_templates_and_static_files_and_nothing_else(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path, ROOT], check=True
    )
    [wheel] = tmp_path.glob("queueadmin-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"core", "queueadmin-0.1.0.dist-info"}
    assert "core/templates/queueadmin/base.html" in names
    assert "core/static/queueadmin/dashboard.css" in names
    assert "core/static/queueadmin/progress.js" in names
    assert "core/static/queueadmin/react.js" in names
    assert "core/py.typed" in names
    assert "queueadmin-0.1.0.dist-info/licenses/LICENSE" in names
    assert not [name for name in names if "/tests/" in name or name.endswith(".pyc")]


def test_check_finds_nothing_missing(project):
    assert "System check identified no issues" in project["check"]


def test_jobs_enqueued_from_the_projects_code_and_a_task_complete(project):
    jobs = {job["job_type"]: job for job in project["jobs"]}
    assert jobs["shop.ship"]["status"] == "completed"
    assert jobs["shop.ship"]["output"] == {"shipped": 42}
    assert jobs["task:shop.tasks.add"]["status"] == "completed"


def test_the_worker_logs_what_it_does_through_the_readmes_logging(project):
    lines = project["worker"].splitlines()
    assert lines[0].startswith("worker id=")
    assert lines[0].endswith("started")
    assert any("type=shop.ship" in line for line in lines)
    assert "stopped: claimed=2 completed=2" in lines[-1]


def test_every_dashboard_page_and_the_api_answer(project):
    failed = {
        path: page["status"] for path, page in project["pages"].items() if page["status"] != 200
    }
    assert failed == {}
    assert project["pages"]["api/jobs"]["type"] == "application/json"


def test_the_dashboard_renders_its_own_base_not_the_projects(project):
    for path, page in project["pages"].items():
        if page["type"].startswith("text/html"):
            assert "THE PROJECT'S OWN BASE" not in page["text"], path
            assert 'class="brand">queueadmin</a>' in page["text"], path


def test_the_dashboards_links_stay_inside_its_prefix(project):
    inside = (PREFIX, "/static/", "/admin/")
    for path, page in project["pages"].items():
        stray = [link for link in page["links"] if not link.startswith(inside)]
        assert stray == [], path
        assert not [link for link in page["links"] if link.startswith("/dashboard/")], path


def test_the_api_describes_itself_under_the_prefix(project):
    document = json.loads(project["pages"]["api/openapi.json"]["text"])
    assert document["servers"] == [{"url": f"http://testserver{PREFIX}api"}]
