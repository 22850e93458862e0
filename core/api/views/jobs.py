"""/api/jobs: list, read, enqueue, retry and cancel jobs."""

from django.http import HttpRequest, HttpResponse

from core import queue
from core.api import params
from core.api.auth import authenticate
from core.api.responses import ApiError, api_view, json_response
from core.api.serialize import job_json
from core.insights import ordering
from core.jobs.filters import filter_jobs
from core.jobs.spec import ENQUEUE_OPTIONS
from core.models import Job

#: Fields of POST /api/jobs.
ENQUEUE_FIELDS = ("job_type", "payload", *sorted(ENQUEUE_OPTIONS))


def job_page(request: HttpRequest) -> tuple[list[Job], int | None]:
    """The jobs of ``GET /api/jobs``'s query string (filters, ``limit``, ``cursor``),
    newest first (see ``core.insights.ordering``), and the cursor of the next page (None
    on the last); the MCP server's find_jobs reads them here too."""
    form, limit, cursor = params.list_query(request)
    jobs = filter_jobs(**form.filters())
    search = form.search()
    if search is not None:
        jobs = jobs.filter(search)
    page, more = ordering.page(jobs, ordering.newest_first(form.filters()), cursor, limit)
    return page, page[-1].pk if more else None


def _list(request: HttpRequest) -> HttpResponse:
    authenticate(request, "queueadmin.view_job")
    page, next_cursor = job_page(request)
    return json_response(
        {"jobs": [job_json(job, request) for job in page], "next_cursor": next_cursor}
    )


def _enqueue(request: HttpRequest) -> HttpResponse:
    authenticate(request, "queueadmin.add_job", write=True)
    body = params.json_body(request, required=True)
    unknown = sorted(set(body) - set(ENQUEUE_FIELDS))
    if unknown:
        raise ApiError(
            400, f"unknown field {', '.join(unknown)}; fields: {', '.join(ENQUEUE_FIELDS)}"
        )
    if "job_type" not in body:
        raise ApiError(400, "job_type: required")
    if body.get("run_at") is not None:
        body["run_at"] = params.aware_datetime("run_at", body["run_at"])
    job = queue.enqueue(**body)
    data = job_json(job, request)
    data["deduplicated"] = job.deduplicated
    response = json_response(data, status=200 if job.deduplicated else 201)
    response["Location"] = request.build_absolute_uri(f"/api/jobs/{job.pk}")
    return response


@api_view(["GET", "POST"])
def jobs(request: HttpRequest) -> HttpResponse:
    """GET: jobs matching the dashboard's filters, newest first. POST: enqueue one."""
    return _enqueue(request) if request.method == "POST" else _list(request)


@api_view(["GET"])
def job(request: HttpRequest, pk: int) -> HttpResponse:
    authenticate(request, "queueadmin.view_job")
    return json_response(job_json(queue.get_job(params.job_id(pk)), request, detail=True))


@api_view(["POST"])
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    # A retry runs the job again: it needs add_job too, like enqueueing.
    caller = authenticate(request, ("queueadmin.change_job", "queueadmin.add_job"), write=True)
    params.json_body(request, required=False)
    job = queue.retry_job(params.job_id(pk), actor=caller.actor)
    return json_response(job_json(job, request, detail=True))


@api_view(["POST"])
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    caller = authenticate(request, "queueadmin.change_job", write=True)
    params.json_body(request, required=False)
    job = queue.cancel_job(params.job_id(pk), actor=caller.actor)
    return json_response(job_json(job, request, detail=True))
