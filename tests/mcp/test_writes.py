"""The write tools through the SDK's client: allowed with --allow-writes and a read-write
key (recorded with the actor "api key <name>"), refused with a read-only key."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core import queue
from core.models import ApiKey, Job, JobStatus, Queue, WaitToken
from tests.mcp.client import ToolFailed
from tests.mcp.keys import READ_ONLY, READ_WRITE, make_keys
from tests.records import set_status, waiting_job

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR = "api key ops-bot"


@pytest.fixture(scope="module")
def servers(start_server, django_db_blocker):
    """A writing server (key in QUEUEADMIN_API_KEY) and one with a read-only key (in
    --api-key), both with --allow-writes."""
    with django_db_blocker.unblock():
        make_keys()
    writer = start_server("--allow-writes", env={"QUEUEADMIN_API_KEY": READ_WRITE})
    reader = start_server("--allow-writes", "--api-key", READ_ONLY)
    return writer, reader


@pytest.fixture
def writer(servers, transactional_db):
    make_keys()  # the flush after each test removes them
    return servers[0]


@pytest.fixture
def read_only(servers, transactional_db):
    make_keys()
    return servers[1]


def last_event(job) -> tuple[str, str | None]:
    event = Job.objects.get(pk=job.pk).events.order_by("-id").first()
    return event.type, event.metadata.get("actor")


def test_retry_job_retries_and_records_the_key_as_actor(writer):
    job = queue.enqueue("test.fail", {})
    set_status(job, JobStatus.FAILED, attempts=1, max_attempts=1)
    result = writer.call("retry_job", job_id=job.pk)
    assert (result["status"], last_event(job)) == ("pending", ("retried", ACTOR))


def test_cancel_job_cancels_and_records_the_key_as_actor(writer):
    job = queue.enqueue("test.echo", {})
    result = writer.call("cancel_job", job_id=job.pk)
    assert (result["status"], last_event(job)) == ("cancelled", ("cancelled", ACTOR))


def test_run_job_now_makes_the_job_due_and_records_the_key_as_actor(writer):
    job = queue.enqueue("test.echo", {}, run_at=timezone.now() + timedelta(days=1))
    writer.call("run_job_now", job_id=job.pk)
    assert Job.objects.get(pk=job.pk).run_at <= timezone.now()
    assert last_event(job) == ("edited", ACTOR)


def test_complete_token_wakes_the_job_and_records_the_key_as_actor(writer):
    token = waiting_job()
    result = writer.call("complete_token", token_id=token.id, output={"approved": True})
    assert result["token"]["status"] == "completed"
    assert WaitToken.objects.get(pk=token.id).output == {"approved": True}
    assert last_event(token.job) == ("resumed", ACTOR)


def test_pause_and_resume_queue_change_the_queue_and_log_the_key_as_actor(writer):
    assert writer.call("pause_queue", name="mail") == {"queue": "mail", "paused": True, "by": ACTOR}
    assert Queue.objects.get(name="mail").paused
    writer.call("resume_queue", name="mail")
    assert not Queue.objects.get(name="mail").paused
    assert f"queue name=mail paused by={ACTOR}" in writer.log()
    assert f"queue name=mail resumed by={ACTOR}" in writer.log()


@pytest.mark.parametrize(
    ("tool", "status", "message"),
    [
        ("retry_job", JobStatus.PENDING, "cannot retry job {id}: it is pending"),
        ("cancel_job", JobStatus.COMPLETED, "cannot cancel job {id}: it is completed"),
        ("run_job_now", JobStatus.COMPLETED, "cannot edit job {id}: it is completed"),
    ],
)
def test_a_change_the_jobs_status_forbids_is_a_tool_error(writer, tool, status, message):
    job = queue.enqueue("test.echo", {})
    set_status(job, status)
    assert message.format(id=job.pk) in writer.error(tool, job_id=job.pk)


def test_a_write_on_an_unknown_job_is_a_tool_error(writer):
    assert "no job with id 999999" in writer.error("cancel_job", job_id=999_999)


def test_completing_an_unknown_token_is_a_tool_error(writer):
    assert "no token with id 'nope'" in writer.error("complete_token", token_id="nope")


def test_completing_a_finished_token_is_a_tool_error(writer):
    token = waiting_job()
    queue.complete_token(token.id, None)
    assert "only waiting tokens can be completed" in writer.error(
        "complete_token", token_id=token.id
    )


def test_a_key_revoked_after_the_start_is_refused(writer):
    ApiKey.objects.get(name="ops-bot").revoke()
    job = queue.enqueue("test.echo", {})
    with pytest.raises(ToolFailed, match="unknown, revoked or expired API key"):
        writer.call("cancel_job", job_id=job.pk)
    assert Job.objects.get(pk=job.pk).status == "pending"


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("retry_job", {"job_id": 1}),
        ("cancel_job", {"job_id": 1}),
        ("run_job_now", {"job_id": 1}),
        ("complete_token", {"token_id": "t"}),
        ("pause_queue", {"name": "mail"}),
        ("resume_queue", {"name": "mail"}),
    ],
)
def test_writes_are_refused_with_a_read_only_key(read_only, tool, arguments):
    with pytest.raises(ToolFailed, match=r"API key qa_mcpreadx… is read-only"):
        read_only.call(tool, **arguments)
    assert not Queue.objects.exists()


def test_a_read_only_key_reads(read_only):
    job = queue.enqueue("test.echo", {})
    assert read_only.call("get_job", job_id=job.pk)["id"] == job.pk
