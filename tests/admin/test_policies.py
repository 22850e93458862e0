"""Django admin for queue and channel policies: lists, filter, search, pause and resume
actions, and add/change forms validated like core.scheduling.policies (nothing saved on bad
input)."""

import logging
import time

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone

from core import queue
from core.models import ChannelPolicy, Queue
from tests.records import policy_snapshot
from tests.users import messages_of, staff_with

pytestmark = pytest.mark.django_db

QUEUES = "/admin/queueadmin/queue/"
CHANNELS = "/admin/queueadmin/channelpolicy/"
HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def act(client, action, *names):
    return client.post(QUEUES, {"action": action, "_selected_action": list(names)}, follow=True)


def queue_url(name):
    return reverse("admin:queueadmin_queue_change", args=[quote(name)])


def channel_url(name):
    return reverse("admin:queueadmin_channelpolicy_change", args=[quote(name)])


def queue_form(**overrides):
    data = {"name": "mail", "max_concurrency": "", "rate_limit": "", "rate_period": "1"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def channel_form(**overrides):
    data = {"name": "acme", "max_concurrency": "", "release_interval": ""}
    data.update(overrides)
    return data


# -- queues -----------------------------------------------------------------------------------


def test_changelist_urls_are_the_usual_ones():
    assert reverse("admin:queueadmin_queue_changelist") == QUEUES
    assert reverse("admin:queueadmin_channelpolicy_changelist") == CHANNELS


def test_queue_list_shows_the_columns_and_actions(staff_client):
    queue.set_queue_policy("mail", max_concurrency=3, rate_limit=10, rate_period=60)
    queue.pause_queue("reports")
    html = staff_client.get(QUEUES).content.decode()
    for column in ("name", "paused", "max_concurrency", "rate", "updated_at"):
        assert f"column-{column}" in html, column
    assert "10 per 60 s" in html
    assert "Pause selected queues" in html
    assert "Resume selected queues" in html
    assert "recent_starts" not in html


def test_queue_list_filters_by_paused_and_searches_by_name(staff_client):
    queue.pause_queue("mail")
    queue.resume_queue("reports")
    html = staff_client.get(QUEUES, {"paused__exact": "1"}).content.decode()
    assert "/admin/queueadmin/queue/mail/change/" in html
    assert "/admin/queueadmin/queue/reports/change/" not in html
    html = staff_client.get(QUEUES, {"q": "repo"}).content.decode()
    assert "/admin/queueadmin/queue/reports/change/" in html
    assert "/admin/queueadmin/queue/mail/change/" not in html


def test_pause_and_resume_actions_go_through_the_api_with_the_user(staff_client, caplog):
    queue.set_queue_policy("mail", max_concurrency=3)
    queue.set_queue_policy("reports", rate_limit=5)
    caplog.set_level(logging.INFO, logger="queueadmin.queue")
    caplog.clear()
    response = act(staff_client, "pause_selected", "mail", "reports")
    assert messages_of(response) == ["Paused 2 queue(s)."]
    assert set(Queue.objects.filter(paused=True).values_list("name", flat=True)) == {
        "mail",
        "reports",
    }
    assert Queue.objects.get(name="mail").max_concurrency == 3  # limits kept
    lines = [r.getMessage() for r in caplog.records if r.name == "queueadmin.queue"]
    assert len(lines) == 2
    assert all("paused by=ops" in line for line in lines)
    response = act(staff_client, "resume_selected", "mail")
    assert messages_of(response) == ["Resumed 1 queue(s)."]
    assert not Queue.objects.get(name="mail").paused
    assert Queue.objects.get(name="reports").paused


def test_actions_need_the_change_permission():
    queue.set_queue_policy("mail", max_concurrency=3)
    viewer = staff_with("view_queue")
    html = viewer.get(QUEUES).content.decode()
    assert "Pause selected queues" not in html
    before = policy_snapshot()
    viewer.post(QUEUES, {"action": "pause_selected", "_selected_action": ["mail"]})
    assert policy_snapshot() == before


def test_add_a_queue_policy(staff_client, caplog):
    caplog.set_level(logging.INFO, logger="queueadmin.queue")
    data = queue_form(
        name="mail", paused="on", max_concurrency="4", rate_limit="20", rate_period="60"
    )
    response = staff_client.post(reverse("admin:queueadmin_queue_add"), data)
    assert response.status_code == 302
    row = Queue.objects.get(name="mail")
    assert (row.paused, row.max_concurrency, row.rate_limit, row.rate_period) == (True, 4, 20, 60)
    lines = [r.getMessage() for r in caplog.records if r.name == "queueadmin.queue"]
    assert any("by=ops" in line and "max_concurrency=4" in line for line in lines)


def test_change_a_queue_policy_keeps_the_claims_starts(staff_client):
    queue.set_queue_policy("mail", max_concurrency=4, rate_limit=20)
    starts = [time.time()]
    Queue.objects.filter(name="mail").update(recent_starts=starts)
    html = staff_client.get(queue_url("mail")).content.decode()
    assert 'name="name"' not in html  # the key is read-only
    data = queue_form(max_concurrency="", rate_limit="20", rate_period="1")
    del data["name"]
    response = staff_client.post(queue_url("mail"), data)
    assert response.status_code == 302
    row = Queue.objects.get(name="mail")
    assert (row.max_concurrency, row.rate_limit, row.recent_starts) == (None, 20, starts)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"name": "bad name"}, "may hold only letters, digits"),
        ({"name": "x" * 101}, "at most 100 characters"),
        ({"max_concurrency": "0"}, "between 1 and"),
        ({"rate_limit": "0"}, "between 1 and"),
        ({"rate_limit": "-2"}, "greater than or equal to 0"),
        ({"rate_period": "0"}, "more than 0 and at most 86400 seconds"),
        ({"rate_period": "90000"}, "more than 0 and at most 86400 seconds"),
        ({"rate_period": ""}, "This field is required."),
    ],
)
def test_the_queue_form_validates_like_the_api_and_saves_nothing(staff_client, overrides, error):
    queue.set_queue_policy("other", max_concurrency=1)
    before = policy_snapshot()
    response = staff_client.post(reverse("admin:queueadmin_queue_add"), queue_form(**overrides))
    assert response.status_code == 200
    assert error in response.content.decode().replace("&#x27;", "'")
    assert policy_snapshot() == before


def test_a_taken_queue_name_is_refused(staff_client):
    queue.set_queue_policy("mail", max_concurrency=1)
    before = policy_snapshot()
    response = staff_client.post(
        reverse("admin:queueadmin_queue_add"), queue_form(max_concurrency="9")
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert policy_snapshot() == before


def test_bad_edits_of_a_queue_save_nothing(staff_client):
    queue.set_queue_policy("mail", max_concurrency=4)
    before = policy_snapshot()
    data = queue_form(max_concurrency="0")
    del data["name"]
    response = staff_client.post(queue_url("mail"), data)
    assert response.status_code == 200
    assert policy_snapshot() == before


def test_hostile_queue_names_are_escaped(staff_client):
    Queue.objects.create(name=HOSTILE, max_concurrency=1)
    html = staff_client.get(QUEUES).content.decode()
    assert HOSTILE not in html
    assert ESCAPED in html


# -- channels ---------------------------------------------------------------------------------


def test_channel_list_shows_the_columns_and_searches(staff_client):
    queue.set_channel_policy("acme", max_concurrency=2, release_interval=1.5)
    queue.set_channel_policy("globex", release_interval=3)
    ChannelPolicy.objects.filter(name="acme").update(last_started_at=timezone.now())
    html = staff_client.get(CHANNELS).content.decode()
    for column in ("name", "max_concurrency", "release_interval", "last_started_at"):
        assert f"column-{column}" in html, column
    assert "1.5" in html
    html = staff_client.get(CHANNELS, {"q": "glob"}).content.decode()
    assert "/admin/queueadmin/channelpolicy/globex/change/" in html
    assert "/admin/queueadmin/channelpolicy/acme/change/" not in html


def test_add_a_channel_policy(staff_client, caplog):
    caplog.set_level(logging.INFO, logger="queueadmin.queue")
    data = channel_form(max_concurrency="2", release_interval="0.5")
    response = staff_client.post(reverse("admin:queueadmin_channelpolicy_add"), data)
    assert response.status_code == 302
    row = ChannelPolicy.objects.get(name="acme")
    assert (row.max_concurrency, row.release_interval) == (2, 0.5)
    assert any(
        "channel name=acme" in r.getMessage() and "by=ops" in r.getMessage() for r in caplog.records
    )


def test_change_a_channel_policy_keeps_its_last_start(staff_client):
    queue.set_channel_policy("tenant/42", max_concurrency=2)
    started = timezone.now()
    ChannelPolicy.objects.filter(name="tenant/42").update(last_started_at=started)
    html = staff_client.get(channel_url("tenant/42")).content.decode()
    assert 'name="name"' not in html
    assert 'name="last_started_at"' not in html  # read-only
    response = staff_client.post(
        channel_url("tenant/42"), {"max_concurrency": "", "release_interval": "10"}
    )
    assert response.status_code == 302
    row = ChannelPolicy.objects.get(name="tenant/42")
    assert (row.max_concurrency, row.release_interval, row.last_started_at) == (None, 10, started)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"name": "bad name", "max_concurrency": "1"}, "may hold only letters, digits"),
        ({"name": "x" * 201, "max_concurrency": "1"}, "at most 200 characters"),
        ({"max_concurrency": "0"}, "between 1 and"),
        ({"release_interval": "0"}, "more than 0 and at most 86400 seconds"),
        ({"release_interval": "-1"}, "more than 0 and at most 86400 seconds"),
        ({}, "clear_channel_policy"),
    ],
)
def test_the_channel_form_validates_like_the_api_and_saves_nothing(staff_client, overrides, error):
    queue.set_channel_policy("other", max_concurrency=1)
    before = policy_snapshot()
    response = staff_client.post(
        reverse("admin:queueadmin_channelpolicy_add"), channel_form(**overrides)
    )
    assert response.status_code == 200
    assert error in response.content.decode().replace("&#x27;", "'")
    assert policy_snapshot() == before


def test_deleting_channel_policies_clears_them_through_the_api(staff_client, caplog):
    queue.set_channel_policy("acme", max_concurrency=1)
    queue.set_channel_policy("globex", max_concurrency=1)
    queue.set_channel_policy("initech", max_concurrency=1)
    caplog.set_level(logging.INFO, logger="queueadmin.queue")
    caplog.clear()
    response = staff_client.post(
        CHANNELS,
        {"action": "delete_selected", "_selected_action": ["acme", "globex"], "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert list(ChannelPolicy.objects.values_list("name", flat=True)) == ["initech"]
    lines = [r.getMessage() for r in caplog.records if r.name == "queueadmin.queue"]
    assert len(lines) == 2
    assert all("cleared by=ops" in line for line in lines)
    staff_client.post(
        reverse("admin:queueadmin_channelpolicy_delete", args=["initech"]), {"post": "yes"}
    )
    assert not ChannelPolicy.objects.exists()


def test_viewers_cannot_change_channel_policies():
    queue.set_channel_policy("acme", max_concurrency=1)
    viewer = staff_with("view_channelpolicy")
    assert viewer.get(CHANNELS).status_code == 200
    before = policy_snapshot()
    viewer.post(channel_url("acme"), {"max_concurrency": "5", "release_interval": ""})
    viewer.post(reverse("admin:queueadmin_channelpolicy_add"), channel_form(max_concurrency="1"))
    assert policy_snapshot() == before
