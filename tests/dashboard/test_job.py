"""The dashboard's job page: fields, JSON, errors, events, why it waits; edit and delete."""

import json
import re
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from django.utils.html import escape

from core import queue
from core.dashboard.views.job import FIELDS
from core.insights.explain import why_not_running
from core.models import Job, JobEvent
from tests.dashboard.conftest import add_worker
from tests.records import set_status
from tests.users import client_for, make_user, messages_of

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def operator():
    return client_for(make_user("operator", "view_job", "change_job", "delete_job", "view_worker"))


def local(*parts):
    """An aware datetime in the current time zone (the one the forms use)."""
    return timezone.make_aware(datetime(*parts))


def page(client, job_id, **kwargs):
    response = client.get(f"/jobs/{job_id}/", **kwargs)
    assert response.status_code == 200
    return response.content.decode()


# -- the page ------------------------------------------------------------------------


@pytest.fixture
def rich_job():
    job = queue.enqueue(
        "billing.charge",
        {"customer": 7, "items": [1, 2], "note": "naïve"},
        queue="payments",
        priority=5,
        max_attempts=4,
        tags=["vip", "eu"],
        idempotency_key="order-99",
        timeout=30,
    )
    errors = [
        {
            "attempt": attempt,
            "at": f"2024-01-01T10:0{attempt}:00+00:00",
            "message": f"card declined {attempt}",
            "type": "PaymentError",
            "traceback": f'Traceback (most recent call last):\n  File "pay.py", line {attempt}',
            "reason": "handler_error",
        }
        for attempt in (1, 2)
    ]
    set_status(
        job,
        "failed",
        attempts=2,
        progress=42,
        output={"charged": False, "codes": ["E1", "E2"]},
        errors=errors,
        failed_at=timezone.now(),
    )
    return Job.objects.get(pk=job.pk)


def test_job_page_shows_every_field(operator, rich_job):
    html = page(operator, rich_job.pk)
    for name in FIELDS:
        assert f"<th>{name}</th>" in html, name
    for value in ("billing.charge", "payments", "order-99", "failed", "30.0"):
        assert f"<td>{value}</td>" in html, value
    assert f"<td>{escape(json.dumps(['vip', 'eu']))}</td>" in html


def test_job_page_shows_payload_and_output_as_pretty_json(operator, rich_job):
    html = page(operator, rich_job.pk)
    payload = escape(json.dumps(rich_job.payload, indent=2, ensure_ascii=False))
    output = escape(json.dumps(rich_job.output, indent=2, ensure_ascii=False))
    assert f'<pre class="json" id="job-payload">{payload}</pre>' in html
    assert f'<pre class="json" id="job-output">{output}</pre>' in html
    assert "naïve" in html


def test_job_page_shows_each_failed_attempt_with_its_traceback_newest_first(operator, rich_job):
    html = page(operator, rich_job.pk)
    assert re.search(r"Errors <span[^>]*>\(2\)</span>", html)
    second = html.index("Attempt 2 · handler_error · PaymentError")
    first = html.index("Attempt 1 · handler_error · PaymentError")
    assert second < first
    assert "card declined 1" in html
    assert "card declined 2" in html
    assert escape('Traceback (most recent call last):\n  File "pay.py", line 2') in html


def test_job_page_without_errors_says_so(operator):
    job = queue.enqueue("x")
    assert "No failed attempts." in page(operator, job.pk)


def test_job_page_shows_the_events_timeline_with_the_actor(operator):
    job = queue.enqueue("x", priority=1)
    queue.edit_job(job.pk, priority=9, actor="alice")
    queue.cancel_job(job.pk, actor="bob")
    html = page(operator, job.pk)
    timeline = html[html.index('id="job-events"') :]
    assert "<strong>added</strong>" in timeline
    assert '<strong>edited</strong> by <span class="actor">alice</span>' in timeline
    assert '<strong>cancelled</strong> by <span class="actor">bob</span>' in timeline
    # newest first
    assert timeline.index("cancelled</strong>") < timeline.index("edited</strong>")
    assert timeline.index("edited</strong>") < timeline.index("added</strong>")


def test_job_page_shows_the_progress(operator, rich_job):
    html = page(operator, rich_job.pk)
    assert '<progress id="job-progress" max="100" value="42">' in html
    assert '<span id="job-progress-value">42%</span>' in html
    assert "attempt 2 of 4" in html


def test_job_page_of_an_unknown_job_is_404(operator):
    assert operator.get("/jobs/987654321/").status_code == 404
    assert operator.get("/jobs/987654321/edit/").status_code == 404
    assert operator.post("/jobs/987654321/edit/", {"priority": 1}).status_code == 404


def test_live_fragment_is_only_the_live_part(operator, rich_job):
    response = operator.get(
        f"/jobs/{rich_job.pk}/", headers={"HX-Request": "true", "HX-Target": "job-live"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="job-live"')
    assert "<html" not in html
    assert 'id="job-progress"' in html
    assert 'id="job-events"' in html
    assert 'id="job-payload"' not in html  # the static part stays put
    assert "<th>job_type</th>" not in html


def test_live_fragment_follows_the_job(operator):
    job = queue.enqueue("x")
    headers = {"HX-Request": "true", "HX-Target": "job-live"}
    Job.objects.filter(pk=job.pk).update(status="processing", progress=70)
    html = operator.get(f"/jobs/{job.pk}/", headers=headers).content.decode()
    assert 'id="job-status">processing<' in html
    assert 'value="70"' in html


# -- why is it not running ---------------------------------------------------------------


def test_why_scheduled_for_later():
    now = timezone.now()
    run_at = local(2031, 2, 3, 4, 5, 6)
    job = queue.enqueue("x", run_at=run_at)
    sentence = why_not_running(job, now=run_at - timedelta(hours=2))
    assert sentence == "It is scheduled for 2031-02-03 04:05:06 (in 2\xa0hours)."
    assert why_not_running(job, now=now).startswith("It is scheduled for 2031-02-03 04:05:06 (in ")


def test_why_in_retry_backoff():
    job = queue.enqueue("x", run_at=timezone.now() + timedelta(minutes=5))
    set_status(job, "pending", attempts=1)
    job.refresh_from_db()
    sentence = why_not_running(job)
    assert sentence.startswith("It is in retry backoff after attempt 1 of 3 failed;")
    assert "the next attempt is due at" in sentence


def test_why_waiting_on_a_dependency():
    first = queue.enqueue("x")
    done = queue.enqueue("x")
    set_status(done, "completed")
    job = queue.enqueue("x", depends_on=[first.pk, done.pk])
    assert why_not_running(job) == f"It is waiting on job #{first.pk} to complete."


def test_why_not_waiting_on_a_completed_dependency():
    add_worker()
    done = queue.enqueue("x")
    set_status(done, "completed")
    job = queue.enqueue("x", depends_on=[done.pk])
    assert "waiting on job" not in why_not_running(job)


def test_why_waiting_on_a_token():
    job = queue.enqueue("x")
    set_status(job, "waiting", wait_token="tok_abc")
    job.refresh_from_db()
    assert why_not_running(job) == "It is waiting for a token to be completed."


def test_why_sleeping():
    job = queue.enqueue("x")
    set_status(job, "waiting", wait_until=timezone.now() + timedelta(minutes=30))
    job.refresh_from_db()
    assert why_not_running(job).startswith("It is sleeping until ")


NO_WORKER = "No live worker serves the queue “mail” and job type “email.send”"


def test_why_no_worker_at_all():
    job = queue.enqueue("email.send", queue="mail")
    sentence = why_not_running(job)
    assert sentence.startswith(NO_WORKER)
    assert sentence.endswith("start one with: manage.py runworker --queue mail")


def test_why_only_a_stale_worker():
    add_worker(heartbeat_age=timedelta(hours=1))
    job = queue.enqueue("email.send", queue="mail")
    assert why_not_running(job).startswith(NO_WORKER)


def test_why_only_a_worker_for_another_queue():
    add_worker(queues=["reports"])
    job = queue.enqueue("email.send", queue="mail")
    assert why_not_running(job).startswith(NO_WORKER)


def test_why_due_and_jobs_ahead():
    add_worker(queues=["mail"])
    base = timezone.now() - timedelta(minutes=10)
    jobs = [
        queue.enqueue("email.send", queue="mail", run_at=base + timedelta(seconds=i))
        for i in range(4)
    ]
    queue.enqueue("email.send", queue="other", run_at=base)  # another queue: not ahead
    queue.enqueue("email.send", queue="mail", run_at=timezone.now() + timedelta(hours=1))
    urgent = queue.enqueue("email.send", queue="mail", priority=10, run_at=base)
    due = "It is due and waiting for a free worker: "
    assert why_not_running(urgent) == due + "it is next in line."
    assert why_not_running(jobs[0]) == due + "1 job is ahead of it."
    assert why_not_running(jobs[3]) == due + "4 jobs are ahead of it."


def test_why_nothing_for_running_or_finished_jobs():
    job = queue.enqueue("x")
    for status in ("processing", "completed", "failed", "cancelled"):
        set_status(job, status)
        job.refresh_from_db()
        assert why_not_running(job) is None


def test_job_page_shows_why_it_is_not_running(operator):
    job = queue.enqueue("x", run_at=timezone.now() + timedelta(days=1))
    html = page(operator, job.pk)
    assert re.search(r'<p class="why" id="job-why">It is scheduled for \d{4}-\d\d-\d\d ', html)
    set_status(job, "completed")
    assert 'id="job-why"' not in page(operator, job.pk)


# -- edit -----------------------------------------------------------------------------------


@pytest.fixture
def pending():
    return queue.enqueue(
        "x",
        {"a": 1},
        priority=3,
        run_at=local(2030, 5, 6, 7, 8, 9),
        tags=["red", "blue"],
        max_attempts=5,
    )


def edit_data(**overrides):
    data = {
        "payload": '{"a": 2, "b": [1, 2]}',
        "priority": "7",
        "run_at": "2031-01-02T03:04:05",
        "tags": "green, blue, green",
        "max_attempts": "6",
    }
    data.update(overrides)
    return data


def test_edit_form_is_prefilled(operator, pending):
    response = operator.get(f"/jobs/{pending.pk}/edit/")
    html = response.content.decode()
    assert response.status_code == 200
    assert escape(json.dumps({"a": 1}, indent=2)) in html
    assert 'name="priority" value="3"' in html
    assert 'value="2030-05-06T07:08:09"' in html
    assert 'name="tags" value="red, blue"' in html
    assert 'name="max_attempts" value="5"' in html


def test_edit_saves_valid_changes_and_records_the_actor(operator, pending):
    response = operator.post(f"/jobs/{pending.pk}/edit/", edit_data())
    assert response.status_code == 303
    assert response["Location"] == f"/jobs/{pending.pk}/"
    job = Job.objects.get(pk=pending.pk)
    assert job.payload == {"a": 2, "b": [1, 2]}
    assert job.priority == 7
    assert job.run_at == local(2031, 1, 2, 3, 4, 5)
    assert job.tags == ["green", "blue"]
    assert job.max_attempts == 6
    event = JobEvent.objects.get(job=job, type="edited")
    assert event.metadata["actor"] == "operator"
    assert set(event.metadata["changes"]) == {
        "payload",
        "priority",
        "run_at",
        "tags",
        "max_attempts",
    }
    assert event.metadata["changes"]["priority"] == {"from": 3, "to": 7}
    assert messages_of(operator.get(response["Location"])) == [f"Job #{pending.pk} saved."]


def test_edit_with_an_empty_payload_sets_it_to_null(operator, pending):
    operator.post(f"/jobs/{pending.pk}/edit/", edit_data(payload="  "))
    assert Job.objects.get(pk=pending.pk).payload is None


def test_saving_the_form_unchanged_records_no_edit(operator):
    job = queue.enqueue("x", {"a": 1}, run_at=local(2030, 5, 6, 7, 8, 9, 123456))
    form = operator.get(f"/jobs/{job.pk}/edit/").context["form"]
    data = {name: form[name].value() for name in form.fields}
    data["run_at"] = form["run_at"].as_widget().split('value="')[1].split('"')[0]
    response = operator.post(f"/jobs/{job.pk}/edit/", data)
    assert response.status_code == 303
    edits = JobEvent.objects.filter(job_id=job.pk, type="edited")
    assert [e.metadata["changes"] for e in edits] == []
    assert Job.objects.get(pk=job.pk).run_at == job.run_at


def unchanged(job):
    return Job.objects.filter(pk=job.pk).values().get()


@pytest.mark.parametrize(
    "payload",
    ['{"a": 2', "{'a': 2}", "not json", '{"a": NaN'],
    ids=["open", "quotes", "text", "nan"],
)
def test_edit_with_invalid_json_says_so_and_changes_nothing(operator, pending, payload):
    before = unchanged(pending)
    response = operator.post(f"/jobs/{pending.pk}/edit/", edit_data(payload=payload))
    assert response.status_code == 200
    assert "Not valid JSON" in response.content.decode()
    assert unchanged(pending) == before
    assert not JobEvent.objects.filter(job=pending, type="edited").exists()


def test_edit_with_a_nan_payload_is_rejected(operator, pending):
    before = unchanged(pending)
    response = operator.post(f"/jobs/{pending.pk}/edit/", edit_data(payload='{"a": NaN}'))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="error" role="alert"' in html
    assert "JSON" in html[html.index('role="alert"') :]
    assert unchanged(pending) == before


@pytest.mark.parametrize("priority", [-100, 100])
def test_edit_accepts_the_priority_bounds(operator, pending, priority):
    response = operator.post(f"/jobs/{pending.pk}/edit/", edit_data(priority=str(priority)))
    assert response.status_code == 303
    assert Job.objects.get(pk=pending.pk).priority == priority


@pytest.mark.parametrize(
    ("priority", "message"),
    [
        ("101", "Ensure this value is less than or equal to 100."),
        ("-101", "Ensure this value is greater than or equal to -100."),
        ("high", "Enter a whole number."),
    ],
)
def test_edit_with_a_priority_out_of_range_is_rejected(operator, pending, priority, message):
    before = unchanged(pending)
    response = operator.post(f"/jobs/{pending.pk}/edit/", edit_data(priority=priority))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert unchanged(pending) == before


@pytest.mark.parametrize(
    ("field", "value"), [("max_attempts", "0"), ("run_at", "tomorrow"), ("run_at", "")]
)
def test_edit_with_other_invalid_fields_changes_nothing(operator, pending, field, value):
    before = unchanged(pending)
    response = operator.post(f"/jobs/{pending.pk}/edit/", edit_data(**{field: value}))
    assert response.status_code == 200
    assert 'class="error" role="alert"' in response.content.decode()
    assert unchanged(pending) == before


@pytest.mark.parametrize("status", ["processing", "waiting", "completed", "failed", "cancelled"])
def test_editing_a_job_that_is_not_pending_is_refused(operator, pending, status):
    set_status(pending, status)
    html = operator.get(f"/jobs/{pending.pk}/edit/").content.decode()
    assert f"This job is {status}; only pending jobs can be edited." in html
    assert '<button type="submit" disabled>Save</button>' in html
    before = unchanged(pending)
    response = operator.post(f"/jobs/{pending.pk}/edit/", edit_data(), follow=True)
    assert response.status_code == 200
    [message] = messages_of(response)
    assert f"cannot edit job {pending.pk}: it is {status}" in message
    assert unchanged(pending) == before
    assert not JobEvent.objects.filter(job=pending, type="edited").exists()


# -- delete -----------------------------------------------------------------------------------


def test_delete_removes_the_job_and_its_events(operator, pending):
    queue.edit_job(pending.pk, priority=1)
    other = queue.enqueue("x")
    queue.edit_job(other.pk, priority=2)
    assert JobEvent.objects.filter(job_id=pending.pk).count() == 1
    response = operator.post(f"/jobs/{pending.pk}/delete/")
    assert response.status_code == 303
    assert response["Location"] == "/jobs/"
    assert not Job.objects.filter(pk=pending.pk).exists()
    assert not JobEvent.objects.filter(job_id=pending.pk).exists()
    assert JobEvent.objects.filter(job_id=other.pk).exists()
    assert messages_of(operator.get("/jobs/")) == [f"Job #{pending.pk} deleted."]


@pytest.mark.parametrize("status", ["pending", "waiting", "completed", "failed", "cancelled"])
def test_delete_works_in_every_status_but_processing(operator, pending, status):
    set_status(pending, status)
    operator.post(f"/jobs/{pending.pk}/delete/")
    assert not Job.objects.filter(pk=pending.pk).exists()


def test_deleting_a_processing_job_is_refused(operator, pending):
    queue.edit_job(pending.pk, priority=1)
    set_status(pending, "processing")
    html = page(operator, pending.pk)
    assert f"/jobs/{pending.pk}/delete/" not in html
    response = operator.post(f"/jobs/{pending.pk}/delete/", follow=True)
    [message] = messages_of(response)
    assert f"cannot delete job {pending.pk}: it is processing" in message
    assert Job.objects.filter(pk=pending.pk).exists()
    assert JobEvent.objects.filter(job_id=pending.pk).exists()


# -- hostile content ----------------------------------------------------------------------------


@pytest.fixture
def hostile_job():
    """A pending, due job with script tags in every text a user or handler controls."""
    job = queue.enqueue("x", {"html": HOSTILE, HOSTILE: 1}, tags=["ok"])
    queue.edit_job(job.pk, actor=HOSTILE, priority=2)
    JobEvent.objects.create(job_id=job.pk, type="progress", metadata={"note": HOSTILE})
    Job.objects.filter(pk=job.pk).update(
        job_type=HOSTILE,
        queue=HOSTILE,
        tags=[HOSTILE, "ok"],
        output={"result": HOSTILE},
        errors=[
            {
                "attempt": 1,
                "at": HOSTILE,
                "message": HOSTILE,
                "type": HOSTILE,
                "traceback": f"Traceback:\n{HOSTILE}",
                "reason": HOSTILE,
            }
        ],
        idempotency_key=HOSTILE,
        locked_by=HOSTILE,
        step_data={"step": HOSTILE},
    )
    return job


def assert_escaped(html):
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)" in html


def test_hostile_content_is_escaped_on_the_job_page(operator, hostile_job):
    html = page(operator, hostile_job.pk)
    assert_escaped(html)
    for section in ('id="job-payload"', 'id="job-output"', 'id="job-events"', 'id="job-why"'):
        start = html.index(section)
        assert "&lt;script&gt;" in html[start : start + 2000], section
    assert f'by <span class="actor">{ESCAPED}</span>' in html


def test_hostile_content_is_escaped_in_the_live_fragment(operator, hostile_job):
    html = page(operator, hostile_job.pk, headers={"HX-Request": "true", "HX-Target": "job-live"})
    assert_escaped(html)


def test_hostile_content_is_escaped_on_the_edit_page(operator, hostile_job):
    html = operator.get(f"/jobs/{hostile_job.pk}/edit/").content.decode()
    assert_escaped(html)


def test_hostile_content_is_escaped_in_the_job_list(operator, hostile_job):
    for headers in ({}, {"HX-Request": "true", "HX-Target": "job-table"}):
        html = operator.get("/jobs/", headers=headers).content.decode()
        assert_escaped(html)
        assert f'<span class="tag">{ESCAPED}</span>' in html
    html = operator.get("/jobs/", {"queue": HOSTILE, "q": HOSTILE}).content.decode()
    assert "<script>alert(1)" not in html


def test_hostile_content_is_escaped_in_the_row_fragment(operator, hostile_job):
    response = operator.post(
        f"/jobs/{hostile_job.pk}/cancel/", {"row": "1"}, headers={"HX-Request": "true"}
    )
    assert_escaped(response.content.decode())


def test_hostile_content_is_escaped_on_the_overview(operator, hostile_job):
    frame = operator.get("/").content.decode()
    assert "<script>alert(1)" not in frame
    counts = operator.get("/overview/counts/").content.decode()
    assert_escaped(counts)
    metrics = operator.get("/overview/metrics/").content.decode()
    assert "<script>alert(1)" not in metrics


def test_hostile_content_is_escaped_in_bulk_fragments(operator, hostile_job):
    html = operator.get(
        "/jobs/bulk/confirm/", {"action": "cancel", "queue": HOSTILE}
    ).content.decode()
    assert '<strong id="bulk-total">1</strong>' in html
    assert_escaped(html)
    response = operator.post(
        "/jobs/bulk/run/",
        {"action": "cancel", "filters": json.dumps({"queue": HOSTILE, "x": HOSTILE})},
    )
    assert "<script>alert(1)" not in response.content.decode()


def test_hostile_error_messages_are_escaped(operator, hostile_job):
    Job.objects.filter(pk=hostile_job.pk).update(status="processing")
    response = operator.post(f"/jobs/{hostile_job.pk}/delete/", follow=True)
    assert "<script>alert(1)" not in response.content.decode()
