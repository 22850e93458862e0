"""What the dashboard's test-client tests share: the job operator, reading a page's HTML,
the no-inline-code check of the Content-Security-Policy, and registered workers."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import Worker
from tests.users import client_for, make_user

#: A <script> element without a src: code inline in the page.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


@pytest.fixture
def operator():
    """Staff who may view, change and retry jobs (a retry needs add_job too) and view
    workers; a module whose pages need other permissions defines its own ``operator``."""
    return client_for(make_user("operator", "view_job", "change_job", "add_job", "view_worker"))


def html_reader(default_path: str):
    """``html_of(client, path=default_path, data=None, **kwargs)``: the HTML of a GET that
    must answer 200 (a module makes one for its own page)."""

    def html_of(client, path=default_path, data=None, **kwargs) -> str:
        response = client.get(path, data, **kwargs)
        assert response.status_code == 200, response.status_code
        return response.content.decode()

    return html_of


def strict_html(response) -> str:
    """The response's HTML, once checked that its policy allows no inline script and that it
    holds none: no <script> without a src, no on*= handler attribute."""
    html = response.content.decode()
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert not INLINE_SCRIPT.search(html)
    assert not re.search(r"\son[a-z]+\s*=", html)
    return html


def add_worker(name="w1", heartbeat_age=timedelta(0), **fields) -> Worker:
    """A worker registered two hours ago whose last heartbeat was ``heartbeat_age`` ago."""
    now = timezone.now()
    values = {
        "host": "host-1",
        "pid": 4242,
        "queues": [],
        "concurrency": 4,
        "started_at": now - timedelta(hours=2),
        "heartbeat_at": now - heartbeat_age,
        **fields,
    }
    return Worker.objects.create(id=name, **values)
