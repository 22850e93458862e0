"""Django admin for jobs and events: lists, filters, search, readable JSON, actions."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from core import queue
from core.models import Job, JobEvent

pytestmark = pytest.mark.django_db


def changelist(model: str) -> str:
    return reverse(f"admin:queueadmin_{model}_changelist")


def test_job_list_shows_useful_columns(staff_client):
    queue.enqueue("email.send", queue="mail", priority=5, max_attempts=4)
    html = staff_client.get(changelist("job")).content.decode()
    for text in ("email.send", "mail", "pending", "0/4", "Retry selected jobs"):
        assert text in html


def test_job_list_filters_by_status(staff_client):
    keep = queue.enqueue("keep.me")
    gone = queue.enqueue("cancel.me")
    queue.cancel_job(gone.pk)
    html = staff_client.get(changelist("job"), {"status__exact": "pending"}).content.decode()
    assert f"/admin/queueadmin/job/{keep.pk}/change/" in html
    assert f"/admin/queueadmin/job/{gone.pk}/change/" not in html


@pytest.mark.parametrize("term", ["id", "#id", "order-99", "billing.charge"])
def test_job_search_finds_by_id_idempotency_key_and_type(staff_client, term):
    target = queue.enqueue("billing.charge", idempotency_key="order-99")
    other = queue.enqueue("email.send")
    term = term.replace("id", str(target.pk)) if term in {"id", "#id"} else term
    html = staff_client.get(changelist("job"), {"q": term}).content.decode()
    assert f"/admin/queueadmin/job/{target.pk}/change/" in html
    assert f"/admin/queueadmin/job/{other.pk}/change/" not in html


def test_job_detail_shows_payload_and_errors_escaped(staff_client):
    job = queue.enqueue("x", {"html": "<script>alert(1)</script>"})
    queue.edit_job(job.pk, priority=3)
    Job.objects.filter(pk=job.pk).update(
        errors=[{"attempt": 1, "message": "<b>boom</b>", "traceback": "Traceback..."}]
    )
    html = staff_client.get(reverse("admin:queueadmin_job_change", args=[job.pk])).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;b&gt;boom&lt;/b&gt;" in html
    assert "edited" in html  # the events inline


def test_retry_action_retries_failed_jobs_and_skips_others(staff_client):
    failed = queue.enqueue("x")
    pending = queue.enqueue("x")
    Job.objects.filter(pk=failed.pk).update(status="failed")
    response = staff_client.post(
        changelist("job"),
        {"action": "retry_selected", "_selected_action": [failed.pk, pending.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "Retried 1 job(s)." in html
    assert f"Skipped 1 job(s) whose status does not allow it: {pending.pk}" in html
    assert Job.objects.get(pk=failed.pk).status == "pending"
    assert JobEvent.objects.get(job=failed, type="retried").metadata["actor"] == "ops"


def test_cancel_action_cancels_selected_jobs(staff_client):
    jobs = [queue.enqueue("x") for _ in range(3)]
    staff_client.post(
        changelist("job"),
        {"action": "cancel_selected", "_selected_action": [j.pk for j in jobs[:2]]},
    )
    statuses = [Job.objects.get(pk=j.pk).status for j in jobs]
    assert statuses == ["cancelled", "cancelled", "pending"]


def test_actions_need_the_change_permission(client):
    viewer = get_user_model().objects.create_user("viewer", password="pw-viewer-123", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_job"))
    client.force_login(viewer)
    html = client.get(changelist("job")).content.decode()
    assert "Retry selected jobs" not in html


def test_jobs_cannot_be_added_or_edited_around_the_queue_api(staff_client):
    job = queue.enqueue("x")
    assert staff_client.get(reverse("admin:queueadmin_job_add")).status_code == 403
    staff_client.post(reverse("admin:queueadmin_job_change", args=[job.pk]), {"priority": 50})
    assert Job.objects.get(pk=job.pk).priority == 0


def test_event_list_searches_by_job_id_and_shows_the_actor(staff_client):
    job = queue.enqueue("billing.charge")
    queue.cancel_job(job.pk, actor="carol")
    other = queue.enqueue("other")
    html = staff_client.get(changelist("jobevent"), {"q": str(job.pk)}).content.decode()
    assert "billing.charge" in html
    assert "carol" in html
    assert f"#{other.pk} other" not in html
    text_search = staff_client.get(changelist("jobevent"), {"q": "abc"})
    assert text_search.status_code == 200


def test_event_list_filters_by_type(staff_client):
    job = queue.enqueue("x")
    queue.cancel_job(job.pk)
    response = staff_client.get(changelist("jobevent"), {"type__exact": "cancelled"})
    assert response.context["cl"].result_count == 1


def test_worker_list_flags_a_stale_heartbeat(staff_client):
    from datetime import timedelta

    from django.utils import timezone

    from core.models import Worker

    now = timezone.now()
    Worker.objects.create(
        id="fresh", host="h1", pid=1, concurrency=4, started_at=now, heartbeat_at=now
    )
    Worker.objects.create(
        id="gone",
        host="h2",
        pid=2,
        concurrency=4,
        started_at=now,
        heartbeat_at=now - timedelta(hours=1),
    )
    html = staff_client.get(changelist("worker")).content.decode()
    assert "fresh" in html
    assert html.count("(stale)") == 1
