"""The JSON API with REDACT set: job lists, a job and its status URL show •••."""

import pytest

from core import queue
from core.models import ApiKey, Job

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def redact(settings):
    settings.QUEUEADMIN = {"REDACT": ["token"]}


@pytest.fixture
def auth():
    return {"HTTP_AUTHORIZATION": f"Bearer {ApiKey.create('reader')[1]}"}


@pytest.fixture
def job():
    job = queue.enqueue("x", {"auth": {"Token": "abc123"}, "items": [{"token": "def456"}]})
    Job.objects.filter(pk=job.pk).update(status="completed", output={"token": "out789"})
    job.refresh_from_db()
    return job


MASKED = {"auth": {"Token": "•••"}, "items": [{"token": "•••"}]}


def test_api_job_list_shows_redacted_values_as_dots(client, auth, job):
    [data] = client.get("/api/jobs", **auth).json()["jobs"]
    assert (data["payload"], data["output"]) == (MASKED, {"token": "•••"})


def test_api_job_shows_redacted_values_as_dots(client, auth, job):
    data = client.get(f"/api/jobs/{job.pk}", **auth).json()
    assert (data["payload"], data["output"]) == (MASKED, {"token": "•••"})


def test_api_status_url_shows_redacted_output_as_dots(client, job):
    assert client.get(job.status_url).json()["output"] == {"token": "•••"}


def test_api_enqueue_answers_with_redacted_values_and_stores_the_real_ones(client):
    writer = ApiKey.create("writer", can_write=True)[1]
    response = client.post(
        "/api/jobs",
        {"job_type": "x", "payload": {"token": "abc123"}},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {writer}",
    )
    assert response.json()["payload"] == {"token": "•••"}
    assert Job.objects.get().payload == {"token": "abc123"}
