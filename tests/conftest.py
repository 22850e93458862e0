"""Shared fixtures: database vendor checks and the headless browser."""

import os
import shutil

import pytest
from django.db import connection

# Handlers for the worker tests; subprocesses get them through this variable.
os.environ["QUEUEADMIN_HANDLER_MODULES"] = "tests.handlers"
import tests.handlers  # noqa: F401  (registers the test handlers)

# Playwright's sync API runs an event loop in the test thread; the ORM calls
# made beside it in tests are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def in_ci() -> bool:
    """True when running under CI, where nothing may be skipped for lack of tools."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(autouse=True)
def _close_job_listener():
    """Close the job-notification listener a test's waits opened (core.jobs.replies):
    its connection would keep the test database from being dropped."""
    yield
    from core.jobs import replies

    replies.close_listener()


@pytest.fixture
def postgres_only(db):
    """Skip unless the suite runs on PostgreSQL."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://...")


def find_chromium() -> str | None:
    """Debian's Chromium (or QUEUEADMIN_CHROMIUM), if installed."""
    candidates = [
        os.environ.get("QUEUEADMIN_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium driven by Playwright; skipped (failed under CI) when missing."""
    executable = find_chromium()
    if executable is None:
        message = "Chromium not found: apt-get install -y chromium (or set QUEUEADMIN_CHROMIUM)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser page (own cookies) per test."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def staff_client(client, django_user_model):
    """The test client logged in as the superuser "ops" (no password, so no hashing)."""
    client.force_login(django_user_model.objects.create_superuser("ops", "ops@example.com", None))
    return client
