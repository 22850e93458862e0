"""The "New job" page: enqueue a job from the dashboard."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from core import queue
from core.models import Job, JobEvent
from tests.dashboard.conftest import strict_html
from tests.users import client_for, make_user, messages_of

pytestmark = pytest.mark.django_db

URL = "/jobs/new/"


@pytest.fixture
def adder():
    """Staff who may view and add jobs."""
    return client_for(make_user("adder", "view_job", "add_job"))


def post(client, **data):
    return client.post(URL, {"job_type": "mail.send", **data})


def only_job() -> Job:
    [job] = Job.objects.all()
    return job


def test_new_job_page_shows_the_form_without_inline_code(adder):
    response = adder.get(URL)
    html = strict_html(response)
    assert response.status_code == 200
    assert '<form method="post" class="edit job-new"' in html
    for name in ("job_type", "payload", "queue", "idempotency_key", "depends_on", "delay"):
        assert f'name="{name}"' in html


def test_new_job_page_suggests_the_registered_job_types(adder):
    html = adder.get(URL).content.decode()
    assert '<datalist id="job-types">' in html
    assert '<option value="queueadmin.noop"></option>' in html


def test_new_job_page_needs_the_add_permission():
    viewer = client_for(make_user("viewer", "view_job"))
    assert viewer.get(URL).status_code == 403
    assert viewer.post(URL, {"job_type": "x"}).status_code == 403
    assert not Job.objects.exists()


def test_jobs_page_links_to_the_new_job_page_for_users_who_may_add(adder):
    assert 'href="/jobs/new/"' in adder.get("/jobs/").content.decode()
    viewer = client_for(make_user("viewer", "view_job"))
    assert 'href="/jobs/new/"' not in viewer.get("/jobs/").content.decode()


def test_new_job_enqueues_and_redirects_to_the_job_page(adder):
    response = post(adder, payload='{"to": "a@example.com"}')
    job = only_job()
    assert response.status_code == 303
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert (job.job_type, job.payload, job.status) == (
        "mail.send",
        {"to": "a@example.com"},
        "pending",
    )
    page = adder.get(response["Location"])
    assert f"Job #{job.pk} mail.send enqueued." in messages_of(page)


def test_new_job_with_an_empty_payload_sends_null(adder):
    post(adder, payload="")
    assert only_job().payload is None


def test_new_job_passes_every_enqueue_option(adder):
    parent = queue.enqueue("parent")
    run_at = (timezone.localtime() + timedelta(hours=2)).replace(microsecond=0)
    post(
        adder,
        queue="mail",
        channel="tenant-7",
        priority="5",
        run_at=run_at.strftime("%Y-%m-%dT%H:%M:%S"),
        max_attempts="7",
        retry_delay="2.5",
        retry_backoff="fixed",
        retry_delay_max="60",
        timeout="30",
        force_kill_on_timeout="on",
        tags="a, b",
        idempotency_key="order-1",
        depends_on=f"#{parent.pk}",
        dead_letter_job_type="mail.dead",
    )
    job = Job.objects.exclude(pk=parent.pk).get()
    assert (job.queue, job.channel, job.priority, job.run_at) == ("mail", "tenant-7", 5, run_at)
    assert (job.max_attempts, job.retry_delay, job.retry_backoff) == (7, 2.5, "fixed")
    assert (job.retry_delay_max, job.timeout, job.force_kill_on_timeout) == (60, 30, True)
    assert (job.tags, job.idempotency_key) == (["a", "b"], "order-1")
    assert (job.depends_on, job.dead_letter_job_type) == ([parent.pk], "mail.dead")


def test_new_job_with_a_delay_runs_later(adder):
    before = timezone.now()
    post(adder, delay="600")
    assert only_job().run_at >= before + timedelta(seconds=600)


def test_new_job_with_empty_options_follows_the_settings(adder, settings):
    settings.QUEUEADMIN = {"DEFAULT_QUEUE": "main", "DEFAULT_MAX_ATTEMPTS": 4}
    post(adder, queue="", max_attempts="", retry_backoff="")
    job = only_job()
    assert (job.queue, job.max_attempts, job.priority) == ("main", 4, 0)


def test_new_job_with_bad_json_shows_line_and_column_and_keeps_the_input(adder):
    text = '{\n  "to": "a@example.com"\n  "subject": "hi"\n}'
    response = post(adder, payload=text, queue="mail")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Not valid JSON: Expecting &#x27;,&#x27; delimiter at line 3, column 3." in html
    assert 'id="id_payload_error"' in html
    assert "&quot;subject&quot;: &quot;hi&quot;" in html  # the text is kept
    assert 'value="mail"' in html
    assert not Job.objects.exists()


def test_new_job_shows_the_queue_apis_objection_beside_its_field(adder):
    response = post(adder, queue="bad queue name!")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_queue_error"' in html
    assert not Job.objects.exists()


def test_new_job_refuses_run_at_with_a_delay(adder):
    html = post(adder, run_at="2030-01-01T00:00:00", delay="5").content.decode()
    assert "Give Run at or Delay, not both." in html
    assert not Job.objects.exists()


def test_new_job_refuses_a_dependency_that_does_not_exist(adder):
    html = post(adder, depends_on="999999").content.decode()
    assert 'id="id_depends_on_error"' in html
    assert "No job with id 999999" in html
    assert not Job.objects.exists()


def test_new_job_refuses_a_depends_on_that_is_not_ids(adder):
    html = post(adder, depends_on="1, two").content.decode()
    assert "Not a job id: &#x27;two&#x27;." in html
    assert not Job.objects.exists()


def test_new_job_with_a_taken_idempotency_key_shows_the_existing_job(adder):
    existing = queue.enqueue("mail.send", {"n": 1}, idempotency_key="order-1")
    response = post(adder, idempotency_key="order-1", payload='{"n": 2}')
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<a href="/jobs/{existing.pk}/" id="existing-job">#{existing.pk} mail.send</a>' in html
    assert f"Job #{existing.pk} has this key already; nothing was added." in html
    assert list(Job.objects.values_list("id", flat=True)) == [existing.pk]
    assert Job.objects.get().payload == {"n": 1}


def test_new_job_is_recorded_with_the_user(adder, caplog):
    with caplog.at_level(logging.INFO, logger="queueadmin.queue"):
        post(adder)
    job = only_job()
    [event] = JobEvent.objects.filter(job=job)
    assert (event.type, event.metadata) == ("added", {"actor": "adder", "via": "dashboard"})
    assert f"Job id={job.pk} type=mail.send enqueued by=adder via=dashboard" in caplog.messages
    page = adder.get(f"/jobs/{job.pk}/").content.decode()
    assert '<strong>added</strong> by <span class="actor">adder</span>' in page


def test_new_job_of_a_type_without_handler_warns(adder):
    response = post(adder, job_type="nobody.handles.this")
    page = adder.get(response["Location"])
    assert any("No handler for 'nobody.handles.this'" in m for m in messages_of(page))
