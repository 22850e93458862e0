"""Environment-driven settings: secret key guard, SQLite tuning, DATABASE_URL."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


ENVIRONMENT = {
    "SECRET_KEY",
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_COOKIES",
    "SERVED_OVER_HTTPS",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
}


def load_settings(**env):
    """Import the settings module in a fresh interpreter with ``env``; return the result."""
    environ = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT}
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


@pytest.mark.parametrize("blank", ["", " ", "   ", "\t\n"])
def test_refuses_a_blank_or_whitespace_secret_key_with_debug_off(blank):
    result = load_settings(DEBUG="0", SECRET_KEY=blank)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set when DEBUG=0, and not blank" in result.stderr


def test_a_whitespace_secret_key_in_development_falls_back_to_the_development_key():
    result = security(DEBUG="1", SECRET_KEY="  ")
    assert result["secret_key"].startswith("django-insecure-")


def security(**env) -> dict:
    """The HTTPS settings the project computes from ``env`` (DEBUG=0 and a key by default)."""
    environ = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT}
    environ.update({"DEBUG": "0", "SECRET_KEY": "s3cret-for-tests", **env})
    code = (
        "import json, queueadmin.settings as s;"
        "print(json.dumps({name.lower(): getattr(s, name, None) for name in ("
        "'SECRET_KEY', 'SECURE_SSL_REDIRECT', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE',"
        " 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD',"
        " 'SECURE_PROXY_SSL_HEADER')}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_production_defaults_secure_cookies_no_redirect_and_no_hsts():
    assert security() == {
        "secret_key": "s3cret-for-tests",
        "secure_ssl_redirect": False,
        "session_cookie_secure": True,
        "csrf_cookie_secure": True,
        "secure_hsts_seconds": 0,
        "secure_hsts_include_subdomains": False,
        "secure_hsts_preload": False,
        "secure_proxy_ssl_header": None,
    }


def test_development_defaults_turn_every_https_setting_off():
    result = security(DEBUG="1", SERVED_OVER_HTTPS="1")
    assert result["session_cookie_secure"] is result["csrf_cookie_secure"] is False
    assert result["secure_ssl_redirect"] is False
    assert result["secure_hsts_seconds"] == 0


def test_served_over_https_turns_hsts_on_for_a_year_with_subdomains_and_preload():
    result = security(SERVED_OVER_HTTPS="1")
    assert result["secure_hsts_seconds"] == 31_536_000
    assert result["secure_hsts_include_subdomains"] is result["secure_hsts_preload"] is True
    assert result["secure_ssl_redirect"] is False  # still opt-in


def test_the_ssl_redirect_is_opt_in_and_implies_https():
    result = security(SECURE_SSL_REDIRECT="1")
    assert result["secure_ssl_redirect"] is True
    assert result["secure_hsts_seconds"] == 31_536_000


def test_served_over_https_may_be_denied_beside_the_redirect():
    result = security(SECURE_SSL_REDIRECT="1", SERVED_OVER_HTTPS="0")
    assert result["secure_ssl_redirect"] is True
    assert result["secure_hsts_seconds"] == 0


@pytest.mark.parametrize("value", ["0", "false", "no", "off"])
def test_secure_cookies_can_be_turned_off(value):
    result = security(SECURE_COOKIES=value)
    assert result["session_cookie_secure"] is result["csrf_cookie_secure"] is False


def test_secure_cookies_can_be_turned_on_in_development():
    result = security(DEBUG="1", SECURE_COOKIES="1")
    assert result["session_cookie_secure"] is result["csrf_cookie_secure"] is True


def test_hsts_seconds_are_read_as_given():
    assert security(SECURE_HSTS_SECONDS="3600")["secure_hsts_seconds"] == 3600
    over_https = security(SERVED_OVER_HTTPS="1", SECURE_HSTS_SECONDS="0")
    assert over_https["secure_hsts_seconds"] == 0
    assert over_https["secure_hsts_include_subdomains"] is over_https["secure_hsts_preload"]
    assert over_https["secure_hsts_preload"] is False


def test_hsts_preload_can_be_turned_off():
    result = security(SERVED_OVER_HTTPS="1", SECURE_HSTS_PRELOAD="0")
    assert result["secure_hsts_seconds"] == 31_536_000
    assert result["secure_hsts_preload"] is False


def test_the_proxy_ssl_header_is_trusted_only_when_told():
    assert security(SECURE_PROXY_SSL_HEADER="1")["secure_proxy_ssl_header"] == [
        "HTTP_X_FORWARDED_PROTO",
        "https",
    ]
    assert security(SECURE_PROXY_SSL_HEADER="0")["secure_proxy_ssl_header"] is None


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
