"""Duration strings ("15m", "1h30m") wherever the queue takes a span of time: enqueue,
edits, tokens, policies, subscriptions, the JSON API and the dashboard's forms."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core import queue
from core.durable import tokens
from core.exceptions import InvalidJobError, InvalidPolicyError
from core.models import ApiKey, ChannelPolicy, Job, Queue
from tests.users import client_for, make_user

pytestmark = pytest.mark.django_db


def test_enqueue_reads_duration_strings_for_every_span_option():
    before = timezone.now()
    job = queue.enqueue(
        "x", delay="15m", timeout="1h30m", retry_delay="500ms", retry_delay_max="2d"
    )
    job = Job.objects.get(pk=job.pk)
    assert (job.timeout, job.retry_delay, job.retry_delay_max) == (5400, 0.5, 172_800)
    assert before + timedelta(minutes=15) <= job.run_at <= timezone.now() + timedelta(minutes=15)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("timeout", "5x", 'timeout: "5x" is not a duration (use seconds or a number with ms'),
        ("delay", "-5m", 'delay: must be zero or more seconds, got "-5m"'),
        ("retry_delay", "3 months", 'retry_delay: "3 months" is not a duration: months'),
        ("timeout", "0s", "timeout: must be more than zero seconds"),
    ],
)
def test_a_bad_duration_names_the_option_and_enqueues_nothing(option, value, message):
    with pytest.raises(InvalidJobError) as caught:
        queue.enqueue("x", **{option: value})
    assert str(caught.value).startswith(message)
    assert not Job.objects.exists()


def test_edit_job_and_edit_jobs_read_duration_strings():
    one = queue.enqueue("x", tags=["t"])
    two = queue.enqueue("x", tags=["t"])
    queue.edit_job(one.pk, timeout="10m", delay="1h")
    assert Job.objects.get(pk=one.pk).timeout == 600
    assert queue.edit_jobs({"tags": ["t"]}, retry_delay="2m") == 2
    assert Job.objects.get(pk=two.pk).retry_delay == 120
    with pytest.raises(InvalidJobError, match=r'^timeout: "soon" is not a duration'):
        queue.edit_job(one.pk, timeout="soon")


def test_a_token_timeout_reads_a_duration_string():
    job = queue.enqueue("x")
    token = tokens.create_token(job.pk, timeout="90s")
    assert token.timeout_at - token.created_at == pytest.approx(
        timedelta(seconds=90), abs=timedelta(seconds=1)
    )
    with pytest.raises(InvalidJobError, match=r'^timeout: "90 x" is not a duration'):
        tokens.create_token(job.pk, timeout="90 x")


def test_policies_read_duration_strings_and_name_the_field():
    queue.set_queue_policy("mail", rate_limit=10, rate_period="1m")
    queue.set_channel_policy("acme", release_interval="1.5s")
    assert Queue.objects.get(name="mail").rate_period == 60
    assert ChannelPolicy.objects.get(name="acme").release_interval == 1.5
    with pytest.raises(InvalidPolicyError, match=r'^release_interval: "1 fortnight" is not'):
        queue.set_channel_policy("acme", release_interval="1 fortnight")


def test_the_api_enqueues_with_duration_strings_and_400s_a_bad_one(client):
    secret = ApiKey.create("writer", can_write=True)[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    body = {"job_type": "x", "timeout": "15m", "retry_delay": "30s"}
    response = client.post("/api/jobs", body, content_type="application/json", **auth)
    assert response.status_code == 201
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.timeout, job.retry_delay) == (900, 30)
    bad = {"job_type": "x", "delay": "tomorrow"}
    response = client.post("/api/jobs", bad, content_type="application/json", **auth)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith('delay: "tomorrow" is not a duration')


def test_the_api_description_allows_duration_strings():
    from core.api.openapi import SCHEMAS

    properties = SCHEMAS["Enqueue"]["properties"]
    for name in ("delay", "timeout", "retry_delay", "retry_delay_max"):
        assert "string" in properties[name]["type"], name


def test_the_new_job_form_reads_duration_strings():
    operator = client_for(make_user("operator", "view_job", "add_job"))
    data = {"job_type": "x", "payload": "", "delay": "2h", "timeout": "1h30m", "retry_delay": "5m"}
    response = operator.post("/jobs/new/", data)
    assert response.status_code == 303, response.content.decode()[-3000:]
    job = Job.objects.get()
    assert (job.timeout, job.retry_delay) == (5400, 300)


def test_the_new_job_form_explains_a_bad_duration_beside_its_field():
    operator = client_for(make_user("operator", "view_job", "add_job"))
    response = operator.post("/jobs/new/", {"job_type": "x", "payload": "", "timeout": "5x"})
    assert response.status_code == 200
    assert "is not a duration" in response.content.decode()
    assert not Job.objects.exists()


def test_the_channel_policy_form_reads_a_duration_string():
    operator = client_for(
        make_user(
            "operator",
            "view_job",
            "view_queue",
            "view_channelpolicy",
            "add_channelpolicy",
            "change_channelpolicy",
        )
    )
    data = {"name": "acme", "max_concurrency": "", "release_interval": "2m"}
    response = operator.post("/queues/channels/new/", data)
    assert response.status_code == 303
    assert ChannelPolicy.objects.get(name="acme").release_interval == 120


def test_a_django_task_takes_duration_strings_for_its_options():
    from tests import tasks

    result = tasks.with_options.using(timeout="15m", retry_delay="1m").enqueue()
    job = Job.objects.get(pk=int(result.id))
    assert (job.timeout, job.retry_delay) == (900, 60)
