"""Django admin for cron schedules: list, filter, search, read-only detail; pause, resume
and run now through core.scheduling.cron."""

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import CronSchedule, Job
from core.scheduling import cron
from tests.records import schedule
from tests.users import staff_with

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/queueadmin/cronschedule/"
HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def change_url(s) -> str:
    return reverse("admin:queueadmin_cronschedule_change", args=[s.pk])


def act(client, action, *schedules):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [s.pk for s in schedules]},
        follow=True,
    )


def test_changelist_url_is_the_usual_one():
    assert reverse("admin:queueadmin_cronschedule_changelist") == CHANGELIST


def test_list_shows_the_columns_and_points_to_the_dashboard(staff_client):
    s = schedule(timezone="Europe/London")
    html = staff_client.get(CHANGELIST).content.decode()
    for column in (
        "name",
        "expression",
        "timezone",
        "status",
        "next_run_at",
        "last_enqueued_at",
        "skipped",
        "dashboard_link",
    ):
        assert f"column-{column}" in html, column
    assert "30 1 * * *" in html
    assert "Europe/London" in html
    assert f'<a href="/cron/{s.pk}/edit/">Edit on the dashboard</a>' in html
    assert "dashboard&#x27;s Cron page (/cron/)" in html
    for action in (
        "Pause selected schedules",
        "Resume selected schedules",
        "Run selected schedules now",
    ):
        assert action in html


def test_list_filters_by_status_and_timezone(staff_client):
    active = schedule("a", timezone="Asia/Tokyo")
    paused = schedule("p")
    cron.pause_cron("p")
    html = staff_client.get(CHANGELIST, {"status__exact": "paused"}).content.decode()
    assert change_url(paused) in html
    assert change_url(active) not in html
    html = staff_client.get(CHANGELIST, {"timezone": "Asia/Tokyo"}).content.decode()
    assert change_url(active) in html
    assert change_url(paused) not in html


@pytest.mark.parametrize("term", ["nightly", "reports.build"])
def test_search_by_name_or_job_type(staff_client, term):
    target = schedule("nightly", job_type="reports.build")
    other = schedule("hourly", "0 * * * *", job_type="cleanup.run")
    html = staff_client.get(CHANGELIST, {"q": term}).content.decode()
    assert change_url(target) in html
    assert change_url(other) not in html


def test_detail_is_read_only_with_escaped_payload(staff_client):
    s = schedule(HOSTILE, payload={"note": HOSTILE}, queue="reports")
    response = staff_client.get(change_url(s))
    html = response.content.decode()
    assert response.status_code == 200
    assert HOSTILE not in html
    assert ESCAPED in html
    assert "&quot;queue&quot;: &quot;reports&quot;" in html
    assert 'name="_save"' not in html
    before = CronSchedule.objects.filter(pk=s.pk).values().get()
    staff_client.post(change_url(s), {"expression": "* * * * *", "status": "paused"})
    assert CronSchedule.objects.filter(pk=s.pk).values().get() == before


def test_schedules_cannot_be_added_in_the_admin(staff_client):
    assert staff_client.get(reverse("admin:queueadmin_cronschedule_add")).status_code == 403
    assert not CronSchedule.objects.exists()


def test_schedules_can_be_deleted_and_their_jobs_stay(staff_client):
    s = schedule()
    job = cron.run_cron_now(s.name)
    delete = reverse("admin:queueadmin_cronschedule_delete", args=[s.pk])
    staff_client.post(delete, {"post": "yes"})
    assert not CronSchedule.objects.exists()
    assert Job.objects.filter(pk=job.pk).exists()


def test_pause_action_pauses_and_skips_paused_ones(staff_client):
    a, b, c = schedule("a"), schedule("b"), schedule("c")
    cron.pause_cron("c")
    html = act(staff_client, "pause_selected", a, b, c).content.decode()
    assert "Paused 2 schedule(s)." in html
    assert "Skipped 1 schedule(s) already paused: c" in html
    assert set(CronSchedule.objects.values_list("status", flat=True)) == {"paused"}


def test_resume_action_resumes_from_the_next_fire_time(staff_client):
    s = schedule("five", "*/5 * * * *")
    cron.pause_cron("five")
    CronSchedule.objects.filter(pk=s.pk).update(next_run_at=timezone.now().replace(year=2020))
    before = timezone.now()
    html = act(staff_client, "resume_selected", s).content.decode()
    assert "Resumed 1 schedule(s)." in html
    s = CronSchedule.objects.get(pk=s.pk)
    assert s.status == "active"
    assert s.next_run_at > before


def test_run_now_action_enqueues_one_job_per_schedule(staff_client):
    a = schedule("a", payload={"n": 1})
    b = schedule("b", job_type="cleanup.run")
    html = act(staff_client, "run_selected", a, b).content.decode()
    assert "Ran 2 schedule(s)." in html
    jobs = list(Job.objects.order_by("id"))
    assert [(j.job_type, j.payload) for j in jobs] == [
        ("reports.build", {"n": 1}),
        ("cleanup.run", None),
    ]
    assert f"Enqueued job(s) #{jobs[0].pk}, #{jobs[1].pk}" in html
    assert CronSchedule.objects.get(pk=a.pk).last_job_id == jobs[0].pk


def test_a_viewer_sees_the_list_but_no_actions():
    client = staff_with("view_cronschedule")
    s = schedule()
    html = client.get(CHANGELIST).content.decode()
    assert "nightly" in html
    assert "Pause selected schedules" not in html
    assert "Run selected schedules now" not in html
    response = client.post(CHANGELIST, {"action": "pause_selected", "_selected_action": [s.pk]})
    assert response.status_code in (200, 302)
    assert CronSchedule.objects.get(pk=s.pk).status == "active"
    client.post(CHANGELIST, {"action": "run_selected", "_selected_action": [s.pk]})
    assert not Job.objects.exists()


def test_the_change_permission_unlocks_the_actions():
    client = staff_with("view_cronschedule", "change_cronschedule")
    s = schedule()
    assert "Pause selected schedules" in client.get(CHANGELIST).content.decode()
    client.post(CHANGELIST, {"action": "pause_selected", "_selected_action": [s.pk]})
    assert CronSchedule.objects.get(pk=s.pk).status == "paused"
    # Still no edit form: edits go through the dashboard.
    assert 'name="_save"' not in client.get(change_url(s)).content.decode()
