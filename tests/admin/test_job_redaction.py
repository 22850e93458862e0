"""The Django admin's job pages with REDACT set: payload, output, step data and events."""

import pytest
from django.urls import reverse

from core import queue
from core.models import Job, JobEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def redact(settings):
    settings.QUEUEADMIN = {"REDACT": ["password"]}


def test_admin_job_page_shows_redacted_values_as_dots(staff_client):
    job = queue.enqueue("x", {"login": {"password": "pay-secret"}})
    queue.edit_job(job.pk, payload={"password": "edit-secret"})
    Job.objects.filter(pk=job.pk).update(
        output={"password": "out-secret"}, step_data={"password": "step-secret"}
    )
    html = staff_client.get(reverse("admin:queueadmin_job_change", args=[job.pk])).content.decode()
    for secret in ("pay-secret", "edit-secret", "out-secret", "step-secret"):
        assert secret not in html
    assert "&quot;password&quot;: &quot;•••&quot;" in html


def test_admin_event_page_shows_redacted_values_as_dots(staff_client):
    job = queue.enqueue("x", {"password": "old-secret"})
    queue.edit_job(job.pk, payload={"password": "new-secret"})
    event = JobEvent.objects.get(job=job)
    url = reverse("admin:queueadmin_jobevent_change", args=[event.pk])
    html = staff_client.get(url).content.decode()
    assert "old-secret" not in html
    assert "new-secret" not in html
