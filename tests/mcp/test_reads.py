"""The read-only server (no flag, no key), through the SDK's client: the README resources,
every read tool's output, clear tool errors for bad arguments, writes refused."""

import pytest
from django.utils import timezone

from core import queue
from core.models import Job, JobStatus, Queue, Worker
from core.streams import topics
from tests.mcp.client import ToolFailed
from tests.records import schedule, set_status, waiting_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def server(start_server):
    return start_server()


def ids(result) -> list[int]:
    return [job["id"] for job in result["jobs"]]


# -- resources ------------------------------------------------------------------------------


def test_each_readme_section_is_a_resource(server):
    listed = server.run(server.session.list_resources()).resources
    uris = {str(resource.uri): resource.title for resource in listed}
    assert uris["queueadmin://readme/the-python-api-core-queue"] == "The Python API (`core.queue`)"
    assert uris["queueadmin://readme/searching-inside-jobs"] == "Searching inside jobs"


def test_a_section_resource_holds_that_sections_text(server):
    result = server.run(server.session.read_resource("queueadmin://readme/searching-inside-jobs"))
    text = result.contents[0].text
    assert text.startswith("### Searching inside jobs\n")
    assert "## Handlers and the worker" not in text  # the next section is a resource of its own


def test_the_readme_index_lists_every_section_uri(server):
    result = server.run(server.session.read_resource("queueadmin://readme"))
    assert "- The Python API (`core.queue`): queueadmin://readme/the-python-api-core-queue" in (
        result.contents[0].text
    )


# -- tools --------------------------------------------------------------------------------

READS = {
    "find_jobs",
    "get_job",
    "queue_overview",
    "list_workers",
    "list_cron_schedules",
    "list_tokens",
    "stream_lag",
}
WRITES = {"retry_job", "cancel_job", "run_job_now", "complete_token", "pause_queue", "resume_queue"}


def test_the_tools_are_listed_with_whether_they_only_read(server):
    tools = server.run(server.session.list_tools()).tools
    assert {tool.name: tool.annotations.read_only_hint for tool in tools} == {
        **dict.fromkeys(READS, True),
        **dict.fromkeys(WRITES, False),
    }


# -- read tools -----------------------------------------------------------------------------


def test_find_jobs_filters_like_the_dashboard_newest_first(server):
    mail = [queue.enqueue("test.echo", {}, queue="mail").pk for _ in range(2)]
    queue.enqueue("test.echo", {}, queue="reports")
    assert ids(server.call("find_jobs", queue="mail")) == mail[::-1]


def test_find_jobs_searches_key_paths_and_the_search_box(server):
    wanted = queue.enqueue("test.echo", {"customer": {"id": 42}}).pk
    queue.enqueue("test.echo", {"customer": {"id": 7}})
    assert ids(server.call("find_jobs", key_paths={"payload.customer.id": "42"})) == [wanted]
    assert ids(server.call("find_jobs", q="payload.customer.id=42")) == [wanted]


def test_find_jobs_pages_with_its_cursor(server):
    made = [queue.enqueue("test.echo", {}).pk for _ in range(3)]
    first = server.call("find_jobs", limit=2)
    rest = server.call("find_jobs", limit=2, cursor=first["next_cursor"])
    assert (ids(first), ids(rest), rest["next_cursor"]) == (made[:0:-1], made[:1], None)


def test_find_jobs_shows_redacted_payload_keys_as_dots(server):
    queue.enqueue("test.echo", {"user": "ann", "password": "hunter2"})
    [job] = server.call("find_jobs")["jobs"]
    assert job["payload"] == {"user": "ann", "password": "•••"}


def test_get_job_returns_its_errors_and_events_newest_first(server):
    job = queue.enqueue("test.fail", {})
    error = {"type": "ValueError", "message": "boom", "traceback": "Traceback …"}
    set_status(job, JobStatus.FAILED, errors=[error], attempts=1)
    queue.retry_job(job.pk, actor="ops")
    result = server.call("get_job", job_id=job.pk)
    assert (result["status"], result["errors"], result["last_error"]) == (
        "pending",
        [error],
        {"type": "ValueError", "message": "boom"},
    )
    assert [event["type"] for event in result["events"]] == ["retried", "added"]
    assert result["events"][0]["metadata"]["actor"] == "ops"


def test_get_job_redacts_the_payload_in_event_metadata(server):
    job = queue.enqueue("test.echo", {"password": "old-secret"})
    queue.edit_job(job.pk, payload={"password": "new-secret"}, actor="ops")
    result = server.call("get_job", job_id=job.pk)
    assert "-secret" not in str(result)
    assert result["events"][0]["metadata"]["changes"]["payload"]["to"] == {"password": "•••"}


def test_queue_overview_counts_jobs_and_shows_policies(server):
    queue.enqueue("test.echo", {}, queue="mail")
    queue.enqueue("test.echo", {}, queue="mail")
    queue.pause_queue("mail")
    queue.set_queue_policy("mail", max_concurrency=3)
    queue.set_channel_policy("tenant-1", max_concurrency=1, release_interval=2)
    result = server.call("queue_overview")
    [mail] = [row for row in result["queues"] if row["name"] == "mail"]
    assert (mail["jobs"]["pending"], mail["paused"], mail["max_concurrency"]) == (2, True, 3)
    assert result["channels"] == [
        {
            "name": "tenant-1",
            "max_concurrency": 1,
            "release_interval": 2.0,
            "running": 0,
            "next_start_in": 0.0,
        }
    ]


def test_list_workers_shows_each_worker_with_its_running_jobs(server):
    now = timezone.now()
    Worker.objects.create(
        id="host:1", host="host", pid=1, concurrency=4, started_at=now, heartbeat_at=now
    )
    job = queue.enqueue("test.echo", {})
    set_status(job, JobStatus.PROCESSING, locked_by="host:1")
    [worker] = server.call("list_workers")["workers"]
    assert (worker["id"], worker["stale"], worker["running_job_ids"]) == ("host:1", False, [job.pk])


def test_list_cron_schedules_describes_each_schedule(server):
    schedule("nightly", "30 1 * * *", "reports.build", payload={"password": "x"})
    [row] = server.call("list_cron_schedules")["schedules"]
    assert (row["name"], row["description"], row["payload"]) == (
        "nightly",
        "At 01:30",
        {"password": "•••"},
    )


def test_list_tokens_shows_waiting_tokens_with_their_job(server):
    token = waiting_job("orders.approve")
    [row] = server.call("list_tokens")["tokens"]
    assert (row["id"], row["job_id"], row["job_type"], row["status"]) == (
        token.id,
        token.job_id,
        "orders.approve",
        "waiting",
    )


def test_stream_lag_shows_each_groups_lag_per_partition(server):
    topics.create_topic("orders")
    for n in range(3):
        topics.publish("orders", {"n": n})
    topics.commit("billing", "orders", 0, 1)
    [topic] = server.call("stream_lag")["topics"]
    [group] = topic["groups"]
    assert (group["name"], group["lag"], group["partitions"][0]["committed"]) == ("billing", 2, 1)


# -- bad arguments --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("get_job", {"job_id": 999_999}, "no job with id 999999"),
        ("get_job", {"job_id": "abc"}, "job_id"),
        ("get_job", {}, "job_id"),
        ("find_jobs", {"status": "lost"}, "invalid filter: status"),
        ("find_jobs", {"payload": "{not json"}, "Not JSON"),
        ("find_jobs", {"limit": 0}, "limit: must be an integer from 1 to 500"),
        ("find_jobs", {"key_paths": {"status": "x"}}, "'status' is no key path"),
        ("find_jobs", {"queue": ""}, "queue: give a value"),
        ("find_jobs", {"colour": "red"}, "colour"),
        ("list_tokens", {"status": "lost"}, "status: one of waiting"),
        ("stream_lag", {"topic": "nowhere"}, "nowhere"),
        ("no_such_tool", {}, "Unknown tool: no_such_tool"),
    ],
)
def test_bad_arguments_are_a_clear_tool_error(server, tool, arguments, message):
    assert message in server.error(tool, **arguments)


def test_the_server_keeps_serving_after_a_tool_error(server):
    server.error("get_job", job_id="abc")
    job = queue.enqueue("test.echo", {})
    assert server.call("get_job", job_id=job.pk)["id"] == job.pk


# -- writes ---------------------------------------------------------------------------------


#: Stands for the id of the job each test makes.
JOB = object()


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("retry_job", {"job_id": JOB}),
        ("cancel_job", {"job_id": JOB}),
        ("run_job_now", {"job_id": JOB}),
        ("complete_token", {"token_id": "t"}),
        ("pause_queue", {"name": "default"}),
        ("resume_queue", {"name": "default"}),
    ],
)
def test_writes_are_refused_without_allow_writes(server, tool, arguments):
    job = queue.enqueue("test.echo", {})
    arguments = {name: job.pk if value is JOB else value for name, value in arguments.items()}
    with pytest.raises(ToolFailed, match="writes are off"):
        server.call(tool, **arguments)
    assert (Job.objects.get(pk=job.pk).status, job.events.count()) == ("pending", 0)
    assert not Queue.objects.exists()
