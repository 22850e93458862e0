"""The read-only tools: jobs by the dashboard's filters, one job with its history, queue
counts and policies, workers, cron schedules, wait tokens and consumer-group lag. Each
checks the server's key (if any) for the permission the dashboard page needs."""

from collections import defaultdict
from typing import Annotated, Any

from django.http import HttpRequest, QueryDict
from django.utils import timezone
from pydantic import Field

from core import queue as jobs_api
from core.api import params
from core.api.responses import ApiError
from core.api.views.jobs import job_page
from core.dashboard.views.queues import queue_rows
from core.dashboard.views.streams import topic_rows
from core.insights.filters import JobFilterForm
from core.mcp import shapes
from core.mcp.access import Access
from core.models import ChannelPolicy, Job, JobStatus, Topic, WaitToken, Worker, WorkerDeath
from core.models.waits import TokenStatus
from core.scheduling import policies
from core.streams.topics import get_topic

#: Jobs per find_jobs page by default (the JSON API's maximum is the tool's too).
JOBS_PAGE = 20
#: Events of get_job by default, newest first.
EVENTS = 50
#: Rows of the lists that have no paging here (the dashboard pages the rest).
LIST_MAX = 100
#: Worker deaths listed, newest first.
DEATHS = 20
TOKEN_STATUSES = (*TokenStatus.values, "all")

Text = str | None


def _described(text: str) -> Any:
    return Field(default=None, description=text)


def filter_query(arguments: dict[str, Any], key_paths: dict[str, str] | None) -> QueryDict:
    """The tool's arguments as the query string GET /api/jobs takes."""
    query = QueryDict(mutable=True)
    for name, value in arguments.items():
        if value is not None:
            query[name] = str(value)
    for name, value in (key_paths or {}).items():
        if not JobFilterForm.is_path_param(name):
            prefixes = ", ".join(f"{p}<path>" for p in JobFilterForm.PATH_PREFIXES)
            raise ApiError(400, f"key_paths: {name!r} is no key path; write {prefixes}")
        query[name] = value
    return query


def read_tools(access: Access) -> list:
    """The read tools, checking ``access`` at every call."""

    def find_jobs(
        status: Annotated[Text, _described(f"one of {', '.join(JobStatus.values)}")] = None,
        queue: Annotated[Text, _described("queue name")] = None,
        job_type: Annotated[Text, _described("job type, e.g. emails.send")] = None,
        tags: Annotated[Text, _described("comma-separated tags")] = None,
        tag_mode: Annotated[Text, _described("all (default), any, exact or none")] = None,
        since: Annotated[Text, _described("created within: 15m, 1h, 24h or 7d")] = None,
        created_after: Annotated[Text, _described("ISO 8601 date-time, inclusive")] = None,
        created_before: Annotated[Text, _described("ISO 8601 date-time, exclusive")] = None,
        q: Annotated[
            Text,
            _described(
                "the dashboard's search box: a job id, an idempotency key, or terms such as "
                "payload.customer.id=42 error:timeout"
            ),
        ] = None,
        payload: Annotated[Text, _described('JSON object the payload contains: {"a": 1}')] = None,
        output: Annotated[Text, _described("JSON object the output contains")] = None,
        errors: Annotated[Text, _described("JSON object one recorded error contains")] = None,
        error: Annotated[Text, _described("text in the latest error message")] = None,
        worker: Annotated[Text, _described("id of a worker: the jobs it processes now")] = None,
        key_paths: Annotated[
            dict[str, str] | None,
            _described('key paths with values, e.g. {"payload.customer.id": "42"}'),
        ] = None,
        limit: Annotated[int, Field(description="jobs per page, 1 to 500")] = JOBS_PAGE,
        cursor: Annotated[
            int | None, _described("next_cursor of the previous page: the next, older page")
        ] = None,
    ) -> dict[str, Any]:
        """Find jobs with the dashboard's filters (those of GET /api/jobs), newest first,
        a page at a time. Payload and output show REDACT keys as •••."""
        access.read("queueadmin.view_job")
        arguments = {
            "status": status,
            "queue": queue,
            "job_type": job_type,
            "tags": tags,
            "tag_mode": tag_mode,
            "since": since,
            "created_after": created_after,
            "created_before": created_before,
            "q": q,
            "payload": payload,
            "output": output,
            "errors": errors,
            "error": error,
            "worker": worker,
            "limit": limit,
            "cursor": cursor,
        }
        request = HttpRequest()
        request.GET = filter_query(arguments, key_paths)
        page, next_cursor = job_page(request)
        return {"jobs": [shapes.job(row) for row in page], "next_cursor": next_cursor}

    def get_job(
        job_id: int,
        events: Annotated[int, Field(ge=0, le=1000, description="newest events shown")] = EVENTS,
    ) -> dict[str, Any]:
        """One job: every field, each attempt's error with its traceback, and its history
        (events, newest first). REDACT keys show as •••."""
        access.read("queueadmin.view_job")
        row = jobs_api.get_job(params.job_id(job_id))
        history = jobs_api.job_events(row, events + 1) if events else []
        data = shapes.job(row, detail=True)
        data["events"] = shapes.events(history[:events])
        data["more_events"] = len(history) > events
        return data

    def queue_overview() -> dict[str, Any]:
        """Every queue with its jobs per status, pause state, limits and running jobs, and
        the channel policies. Counts of big tables may be estimates (listed in
        ``estimated``), as on the dashboard."""
        access.read("queueadmin.view_queue", "queueadmin.view_channelpolicy")
        rows, estimated = queue_rows()
        names = list(
            ChannelPolicy.objects.order_by("name").values_list("name", flat=True)[:LIST_MAX]
        )
        usage = policies.channel_usage(names)
        return {
            "queues": [shapes.queue(row) for row in rows],
            "counts_estimated": estimated,
            "channels": [shapes.channel(name, usage[name]) for name in names],
        }

    def list_workers() -> dict[str, Any]:
        """Every registered runworker process (live ones first) with its state, heartbeat,
        running jobs and stuck threads, and the latest worker deaths."""
        access.read("queueadmin.view_worker")
        now = timezone.now()
        workers = list(Worker.objects.order_by("-heartbeat_at", "id")[:LIST_MAX])
        running = defaultdict(list)
        held = Job.objects.filter(
            status=JobStatus.PROCESSING, locked_by__in=[w.id for w in workers]
        ).values_list("locked_by", "id")
        for worker_id, job_id in held.order_by("id"):
            running[worker_id].append(job_id)
        return {
            "workers": [shapes.worker(w, running[w.id], now) for w in workers],
            "deaths": [shapes.death(d) for d in WorkerDeath.objects.all()[:DEATHS]],
        }

    def list_cron_schedules() -> dict[str, Any]:
        """Every cron schedule: expression (in words too), time zone, status, the job it
        enqueues, next and last run."""
        access.read("queueadmin.view_cronschedule")
        return {"schedules": [shapes.schedule(row) for row in jobs_api.list_crons()]}

    def list_tokens(
        status: Annotated[str, Field(description=", ".join(TOKEN_STATUSES))] = "waiting",
        limit: Annotated[int, Field(ge=1, le=LIST_MAX)] = 50,
    ) -> dict[str, Any]:
        """Wait tokens (waiting ones by default), newest first, with their job. A token's
        id is what complete_token takes."""
        access.read("queueadmin.view_waittoken")
        if status not in TOKEN_STATUSES:
            raise ApiError(400, f"status: one of {', '.join(TOKEN_STATUSES)}")
        rows = WaitToken.objects.select_related("job").order_by("-created_at", "-id")
        if status != "all":
            rows = rows.filter(status=status)
        return {"tokens": [shapes.token(row) for row in rows[:limit]]}

    def stream_lag(
        topic: Annotated[Text, _described("one topic (default: every topic)")] = None,
        group: Annotated[Text, _described("one consumer group (default: every group)")] = None,
    ) -> dict[str, Any]:
        """Stream topics with each consumer group's committed offset and lag (messages not
        yet processed) per partition, and the messages retention deleted before a group
        read them (missed)."""
        access.read("queueadmin.view_topic")
        topics = [get_topic(topic)] if topic is not None else list(Topic.objects.all()[:LIST_MAX])
        return {"topics": [shapes.topic(row) for row in topic_rows(topics, group)]}

    return [
        find_jobs,
        get_job,
        queue_overview,
        list_workers,
        list_cron_schedules,
        list_tokens,
        stream_lag,
    ]
