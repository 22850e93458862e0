"""What the browser tests share: staff users with a password, logged in through the admin
login form in Debian's Chromium (``page`` and ``browser`` come from tests/conftest.py).

A module whose ``operator_page`` should land elsewhere than the overview overrides
``operator_start``.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

PASSWORD = "browser-test-password"

expect.set_options(timeout=10_000)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Cheap password hashing: users are created and log in in every test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_staff(username: str, *permissions: str, superuser: bool = False):
    """A staff user with PASSWORD and ``permissions`` ("app.codename")."""
    users = get_user_model()
    if superuser:
        return users.objects.create_superuser(username, f"{username}@example.com", PASSWORD)
    user = users.objects.create_user(username, password=PASSWORD, is_staff=True)
    for name in permissions:
        app, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    return user


def log_in(page, live_server, username: str, next_url: str = "/", password: str = PASSWORD) -> None:
    """Log in through the admin login form and land on ``next_url``."""
    page.goto(f"{live_server.url}/admin/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page).to_have_url(f"{live_server.url}{next_url}")


@pytest.fixture
def operator_start() -> str:
    """Where ``operator_page`` lands after logging in."""
    return "/"


@pytest.fixture
def operator_page(page, live_server, operator_start):
    """The page, logged in as a superuser named "operator", on ``operator_start``."""
    make_staff("operator", superuser=True)
    log_in(page, live_server, "operator", operator_start)
    return page


def mark_document(page) -> None:
    """Tag the current document; a navigation or reload loses the tag."""
    page.evaluate("window.__marker = 1")


def same_document(page) -> bool:
    """True while the document tagged by mark_document is still the one shown."""
    return page.evaluate("window.__marker") == 1
