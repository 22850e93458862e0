"""The Django admin's job deletes: through the queue API, processing jobs refused, logged."""

import logging

import pytest
from django.urls import reverse

from core import queue
from core.models import Job, JobEvent
from tests.records import set_status

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:queueadmin_job_changelist"


def test_admin_delete_action_deletes_jobs_with_events_and_skips_processing(staff_client, caplog):
    done, running = queue.enqueue("x"), queue.enqueue("x")
    queue.cancel_job(done.pk)
    set_status(running, "processing")
    with caplog.at_level(logging.INFO, logger="queueadmin.queue"):
        response = staff_client.post(
            reverse(CHANGELIST),
            {"action": "delete_selected", "_selected_action": [done.pk, running.pk]},
            follow=True,
        )
    html = response.content.decode()
    assert "Deleted 1 job(s) with their events." in html
    assert "Skipped 1 job(s): processing" in html
    assert list(Job.objects.values_list("id", flat=True)) == [running.pk]
    assert not JobEvent.objects.filter(job_id=done.pk).exists()
    assert any("Jobs deleted count=1" in m and "by=ops" in m for m in caplog.messages)


def test_admin_delete_action_is_ours_not_djangos(staff_client):
    queue.enqueue("x")
    html = staff_client.get(reverse(CHANGELIST)).content.decode()
    assert "Delete selected jobs with their events" in html
    assert "Delete selected jobs</option>" not in html


def test_admin_delete_page_of_a_job_logs_the_user(staff_client, caplog):
    job = queue.enqueue("x")
    url = reverse("admin:queueadmin_job_delete", args=[job.pk])
    with caplog.at_level(logging.INFO, logger="queueadmin.queue"):
        staff_client.post(url, {"post": "yes"})
    assert not Job.objects.filter(pk=job.pk).exists()
    assert f"Job id={job.pk} type=x deleted by=ops" in caplog.messages


def test_admin_refuses_to_delete_a_processing_job(staff_client):
    job = queue.enqueue("x")
    set_status(job, "processing")
    url = reverse("admin:queueadmin_job_delete", args=[job.pk])
    assert staff_client.post(url, {"post": "yes"}).status_code == 403
    assert Job.objects.filter(pk=job.pk).exists()
