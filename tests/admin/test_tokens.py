"""Django admin for wait tokens: list, filter, search, read-only detail, complete and expire."""

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from core.durable import tokens
from core.models import Job, JobEvent, WaitToken
from tests.records import waiting_job
from tests.users import staff_with

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/queueadmin/waittoken/"


def change_url(token) -> str:
    # The admin escapes "_" (and more) in primary keys in its URLs; token ids may hold one.
    return reverse("admin:queueadmin_waittoken_change", args=[quote(token.pk)])


def test_changelist_url_is_the_usual_one():
    assert reverse("admin:queueadmin_waittoken_changelist") == CHANGELIST


def test_list_shows_the_columns_with_a_job_link(staff_client):
    token = waiting_job(tags=["approval", "eu"])
    html = staff_client.get(CHANGELIST).content.decode()
    for column in ("job_link", "status", "tags", "timeout_at", "created_at", "completed_at"):
        assert f'class="sortable column-{column}' in html or f"column-{column}" in html, column
    assert token.id in html
    link = (
        f'<a href="/admin/queueadmin/job/{token.job_id}/change/">#{token.job_id} orders.approve</a>'
    )
    assert link in html
    assert "Complete selected tokens with null" in html
    assert "Expire selected tokens" in html


def test_list_filters_by_status(staff_client):
    waiting = waiting_job()
    done = waiting_job()
    tokens.complete_token(done.id, 1)
    html = staff_client.get(CHANGELIST, {"status__exact": "completed"}).content.decode()
    assert change_url(done) in html
    assert change_url(waiting) not in html


@pytest.mark.parametrize("by", ["token", "job", "#job"])
def test_search_by_token_id_or_job_id(staff_client, by):
    target = waiting_job()
    other = waiting_job()
    term = {"token": target.id, "job": str(target.job_id), "#job": f"#{target.job_id}"}[by]
    html = staff_client.get(CHANGELIST, {"q": term}).content.decode()
    assert change_url(target) in html
    assert change_url(other) not in html


@pytest.mark.parametrize("term", ["no-such-token", "99999999999999999999999"])
def test_search_for_nothing_known_finds_nothing(staff_client, term):
    token = waiting_job()
    response = staff_client.get(CHANGELIST, {"q": term})
    assert response.status_code == 200
    assert change_url(token) not in response.content.decode()


def test_detail_is_read_only_with_escaped_output(staff_client):
    token = waiting_job()
    tokens.complete_token(token.id, {"note": "<script>alert(1)</script>"})
    response = staff_client.get(change_url(token))
    html = response.content.decode()
    assert response.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html
    assert 'name="_save"' not in html
    before = WaitToken.objects.filter(pk=token.pk).values().get()
    staff_client.post(change_url(token), {"status": "waiting", "output": "2"})
    assert WaitToken.objects.filter(pk=token.pk).values().get() == before


def test_tokens_cannot_be_added_or_deleted_in_the_admin(staff_client):
    token = waiting_job()
    assert staff_client.get(reverse("admin:queueadmin_waittoken_add")).status_code == 403
    delete = reverse("admin:queueadmin_waittoken_delete", args=[quote(token.pk)])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    assert WaitToken.objects.filter(pk=token.pk).exists()
    html = staff_client.get(CHANGELIST).content.decode()
    assert "delete_selected" not in html


def test_complete_action_completes_with_null_wakes_the_jobs_and_skips_finished(staff_client):
    first, second, done = waiting_job(), waiting_job(), waiting_job()
    tokens.expire_token(done.id)
    response = staff_client.post(
        CHANGELIST,
        {"action": "complete_selected", "_selected_action": [first.pk, second.pk, done.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "Completed 2 token(s)." in html
    assert f"Skipped 1 token(s) already completed or timed out: {done.id[:8]}…" in html
    for token in (first, second):
        token = WaitToken.objects.get(pk=token.pk)
        assert (token.status, token.output) == ("completed", None)
        assert Job.objects.get(pk=token.job_id).status == "pending"
        assert JobEvent.objects.filter(job_id=token.job_id, type="resumed").count() == 1
    assert WaitToken.objects.get(pk=done.pk).status == "timed_out"


def test_expire_action_times_tokens_out_and_wakes_the_jobs(staff_client):
    token = waiting_job()
    response = staff_client.post(
        CHANGELIST, {"action": "expire_selected", "_selected_action": [token.pk]}, follow=True
    )
    assert "Expired 1 token(s)." in response.content.decode()
    assert WaitToken.objects.get(pk=token.pk).status == "timed_out"
    assert Job.objects.get(pk=token.job_id).status == "pending"
    event = JobEvent.objects.get(job_id=token.job_id, type="resumed")
    assert event.metadata == {"reason": "token timed out", "actor": "ops"}


def test_a_viewer_sees_the_list_but_no_actions():
    client = staff_with("view_waittoken", "view_job")
    token = waiting_job()
    html = client.get(CHANGELIST).content.decode()
    assert token.id in html
    assert "Complete selected tokens with null" not in html
    assert "Expire selected tokens" not in html
    response = client.post(
        CHANGELIST, {"action": "complete_selected", "_selected_action": [token.pk]}
    )
    assert response.status_code in (200, 302)
    assert WaitToken.objects.get(pk=token.pk).status == "waiting"
    assert Job.objects.get(pk=token.job_id).status == "waiting"


def test_the_change_permission_unlocks_the_actions():
    client = staff_with("view_waittoken", "change_waittoken")
    token = waiting_job()
    html = client.get(CHANGELIST).content.decode()
    assert "Complete selected tokens with null" in html
    client.post(CHANGELIST, {"action": "expire_selected", "_selected_action": [token.pk]})
    assert WaitToken.objects.get(pk=token.pk).status == "timed_out"
