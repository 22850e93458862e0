"""Searching a redacted key (REDACT) from the dashboard or the API is refused: a
guessed value must not be confirmed by which jobs come back."""

import pytest
from django.test import Client

from core import queue
from core.models import ApiKey

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def redact_email(settings):
    settings.QUEUEADMIN = {"REDACT": ["email"]}


@pytest.fixture
def job():
    return queue.enqueue("signup", {"user": {"Email": "ann@example.com", "plan": "pro"}})


@pytest.fixture
def api():
    secret = ApiKey.create("reader")[1]
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.mark.parametrize(
    "params",
    [
        {"q": 'payload.user.email="ann@example.com"'},
        {"payload.user.EMAIL": '"ann@example.com"'},
        {"payload": '{"user": {"email": "ann@example.com"}}'},
        {"output": '{"email": "ann@example.com"}'},
    ],
)
def test_dashboard_refuses_a_search_on_a_redacted_key(operator, job, params):
    response = operator.get("/jobs/", params)
    assert response.status_code == 200
    assert "is redacted (REDACT) and cannot be searched" in response.content.decode()
    assert list(response.context["jobs"]) == []


def test_dashboard_still_searches_keys_that_are_not_redacted(operator, job):
    response = operator.get("/jobs/", {"q": 'payload.user.plan="pro"'})
    assert [j.pk for j in response.context["jobs"]] == [job.pk]


def test_api_refuses_a_search_on_a_redacted_key(api, job):
    response = api.get("/api/jobs", {"payload.user.email": '"ann@example.com"'})
    assert response.status_code == 400
    assert "redacted" in response.json()["error"]["message"]


def test_python_find_jobs_may_search_a_redacted_key(job):
    assert list(queue.find_jobs(payload_has={"user.Email": "ann@example.com"})) == [job]
