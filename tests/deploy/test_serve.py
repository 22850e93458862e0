"""`make serve`: the production setup (DEBUG=0, gunicorn, WhiteNoise, a worker) over real
HTTP, and `check --deploy` clean with the environment the README documents."""

import http.cookiejar
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.workers import ROOT

PASSWORD = "serve-test-password"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(tmp_path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "DEBUG",
            "SECRET_KEY",
            "QUEUEADMIN_HANDLER_MODULES",
            "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by tests/conftest.py for Playwright
            "ALLOWED_HOSTS",
            "CSRF_TRUSTED_ORIGINS",
            "SERVED_OVER_HTTPS",
            "SECURE_SSL_REDIRECT",
            "SECURE_COOKIES",
            "SECURE_HSTS_SECONDS",
            "SECURE_HSTS_PRELOAD",
            "SECURE_PROXY_SSL_HEADER",
        }
    }
    env["QUEUEADMIN_VAR_DIR"] = str(tmp_path / "var")
    return env


class Browser:
    """urllib with a cookie jar, not following redirects (so a 302 is seen as one)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, dict, bytes]:
        body = None if data is None else urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(self.base + path, data=body)
        if body is not None:
            request.add_header("Referer", self.base + path)
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.jar if c.name == name)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`make serve` on a free port with its own SQLite database, and a superuser."""
    tmp_path = tmp_path_factory.mktemp("serve")
    env = _environment(tmp_path)
    port = _free_port()
    log = (tmp_path / "serve.log").open("w+b")
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "serve", "HOST=127.0.0.1", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(base + "/admin/login/", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"make serve did not start:\n{log.read().decode()}")
                time.sleep(0.3)
        subprocess.run(
            [sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", "ops"],
            cwd=ROOT,
            env={**env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD, "DJANGO_SUPERUSER_EMAIL": "o@x.io"},
            check=True,
            capture_output=True,
        )
        yield base, proc, log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


@pytest.fixture(scope="module")
def logged_in(served):
    base, _, _ = served
    browser = Browser(base)
    status, _, html = browser.request("/admin/login/?next=/")
    assert status == 200
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1).decode()
    status, headers, _ = browser.request(
        "/admin/login/?next=/",
        {"csrfmiddlewaretoken": token, "username": "ops", "password": PASSWORD, "next": "/"},
    )
    assert status == 302, "login refused"
    assert headers["Location"] == "/"
    return browser


def test_the_login_works_and_the_dashboard_answers(logged_in):
    status, _, html = logged_in.request("/")
    assert status == 200
    assert b"queueadmin" in html
    assert b'href="/static/queueadmin/dashboard.css"' in html


def test_every_page_sends_the_content_security_policy(logged_in):
    _, headers, _ = logged_in.request("/jobs/")
    assert "script-src 'self'" in headers["Content-Security-Policy"]


def test_static_files_are_served_by_the_app_server(served):
    base, _, _ = served
    with urllib.request.urlopen(base + "/static/queueadmin/dashboard.css", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/css")
        assert b"{" in response.read()
    with urllib.request.urlopen(base + "/static/queueadmin/progress.js", timeout=10) as response:
        assert response.status == 200


def test_debug_is_off(served):
    base, _, _ = served
    status, _, html = Browser(base).request("/no-such-page/")
    assert status == 404
    assert b"URLconf" not in html  # no debug page


def test_make_serve_neither_redirects_to_https_nor_sends_hsts(served):
    base, _, _ = served
    status, headers, _ = Browser(base).request("/admin/login/")
    assert status == 200  # plain HTTP answered, not redirected
    assert "Strict-Transport-Security" not in headers
    assert "csrftoken=" in headers["Set-Cookie"]
    assert "Secure" not in headers["Set-Cookie"]  # or no browser would send it back


def test_the_worker_beside_it_heartbeats(logged_in):
    deadline = time.monotonic() + 30
    while True:
        _, _, html = logged_in.request("/workers/")
        if b"1 alive of 1 registered" in html:
            break
        assert time.monotonic() < deadline, html.decode()[:2000]
        time.sleep(0.5)


def test_a_sigterm_stops_the_server_and_the_worker(served):
    base, proc, log = served
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(40)
    log.seek(0)
    output = log.read().decode()
    assert "stopped" in output.lower(), output[-3000:]
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(base + "/admin/login/", timeout=2)


def documented_environment() -> dict[str, str]:
    """The production environment of README "Deploying" (its ```sh block of NAME=value
    lines), with a fresh random SECRET_KEY where the README shows a placeholder."""
    section = (ROOT / "README.md").read_text().split("\n## Deploying\n")[1].split("\n## ")[0]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert block, 'README "Deploying" lost its ```sh block of the production environment'
    env = {}
    for line in block.group(1).splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    if env.get("SECRET_KEY", "").startswith("<"):
        env["SECRET_KEY"] = secrets.token_urlsafe(50)
    return env


def test_the_readme_documents_the_production_environment():
    env = documented_environment()
    assert env["DEBUG"] == "0"
    assert {"SECRET_KEY", "ALLOWED_HOSTS", "SERVED_OVER_HTTPS", "SECURE_SSL_REDIRECT"} <= set(env)


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    """``manage.py check --deploy`` failing on warnings, with ``env``."""
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_passes_with_the_documented_environment(tmp_path):
    done = check_deploy({**_environment(tmp_path), **documented_environment()})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout
    assert "WARNING" not in done.stdout + done.stderr


def test_check_deploy_warns_without_the_https_settings(tmp_path):
    """The documented environment is what makes it clean: without it, the warnings."""
    env = {**_environment(tmp_path), **documented_environment()}
    for name in ("SERVED_OVER_HTTPS", "SECURE_SSL_REDIRECT"):
        env.pop(name)
    done = check_deploy(env)
    assert done.returncode != 0
    assert "security.W004" in done.stderr + done.stdout  # no HSTS
    assert "security.W008" in done.stderr + done.stdout  # no redirect
