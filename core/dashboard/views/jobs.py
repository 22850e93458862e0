"""The job list: status tabs, filters, search, keyset pages and row actions."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from core import conf, queue
from core.dashboard.access import actor, staff_action, staff_page
from core.dashboard.redirects import redirect_to, safe_next
from core.exceptions import QueueError
from core.insights import counts, ordering
from core.insights.filters import JobFilterForm
from core.jobs.filters import filter_jobs
from core.models import Job, JobStatus

#: Row actions by name: the queue function and the message after it.
ROW_ACTIONS = {
    "retry": (queue.retry_job, "retried"),
    "cancel": (queue.cancel_job, "cancelled"),
    "run_now": (queue.run_job_now, "made due now"),
}


def _page_bound(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and int(value) < 2**63 else None


def filtered_jobs(form: JobFilterForm, *, with_status: bool = True):
    """The queryset the filter form describes (empty when the form is invalid)."""
    if not form.is_valid():
        return Job.objects.none()
    filters = form.filters()
    if not with_status:
        filters.pop("status", None)
    qs = filter_jobs(**filters)
    search = form.search()
    return qs.filter(search) if search is not None else qs


def _page(qs, order: tuple[str, ...], before: int | None, after: int | None, size: int):
    """One keyset page, newest first in ``order``: (jobs, newer cursor, older cursor)."""
    if after is not None:
        rows, newer = ordering.page(qs, order, after, size, older=False)
        jobs = rows[::-1]
        older = bool(jobs)
    else:
        jobs, older = ordering.page(qs, order, before, size)
        newer = before is not None and bool(jobs)
    return (
        jobs,
        jobs[0].id if newer and jobs else None,
        jobs[-1].id if older and jobs else None,
    )


def _outside_filters(form: JobFilterForm, jobs: list, paging: bool) -> list[int]:
    """When the first page is empty: the jobs the search box names (an id or an
    idempotency key) that the other filters (status, time, …) leave out, newest first,
    so that the list can say they exist."""
    if jobs or paging or not form.is_valid():
        return []
    search = form.search()
    if search is None or not form.filters():
        return []
    return list(Job.objects.filter(search).order_by("-id").values_list("id", flat=True)[:5])


@staff_page("queueadmin.view_job")
def job_list(request: HttpRequest) -> HttpResponse:
    """Jobs matching the filters, a keyset page at a time."""
    form = JobFilterForm(request.GET)
    size = conf.get("DASHBOARD_PAGE_SIZE")
    order = ordering.newest_first(form.filters() if form.is_valid() else {})
    before, after = _page_bound(request, "before"), _page_bound(request, "after")
    jobs, newer, older = _page(filtered_jobs(form), order, before, after, size)
    context = {
        "form": form,
        "jobs": jobs,
        "outside": _outside_filters(form, jobs, paging=before is not None or after is not None),
        "newer": newer,
        "older": older,
        "statuses": JobStatus.values,
        "current_status": form.cleaned_data.get("status", "") if form.is_valid() else "",
        "can_change": request.user.has_perm("queueadmin.change_job"),
        # A retry makes jobs run again: it needs add_job too.
        "can_retry": request.user.has_perms(["queueadmin.change_job", "queueadmin.add_job"]),
        "now": timezone.now(),
    }
    template = "queueadmin/jobs.html"
    if request.htmx and request.htmx.target == "job-table":
        template += "#table"
    return render(request, template, context)


@staff_page("queueadmin.view_job")
def job_counts(request: HttpRequest) -> HttpResponse:
    """Fragment: the status tabs with a count each, under the other filters."""
    form = JobFilterForm(request.GET)
    tab_counts = counts.status_counts(filtered_jobs(form, with_status=False))
    return render(
        request,
        "queueadmin/jobs.html#tabs",
        {
            "form": form,
            "statuses": JobStatus.values,
            "tab_counts": tab_counts,
            "current_status": form.cleaned_data.get("status", "") if form.is_valid() else "",
        },
    )


@staff_action("queueadmin.change_job")
def job_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Retry, cancel or run now one job; htmx gets the updated row back."""
    function, done = ROW_ACTIONS[action]
    if action == "retry" and not request.user.has_perm("queueadmin.add_job"):
        # A retry runs the job again: like enqueueing, it needs add_job too.
        raise PermissionDenied("retrying a job needs the queueadmin.add_job permission too")
    error = None
    try:
        function(pk, actor=actor(request))
    except QueueError as exc:
        error = str(exc)
    if request.htmx and request.POST.get("row"):
        job = Job.objects.filter(pk=pk).first()
        return render(
            request,
            "queueadmin/jobs.html#row",
            {
                "job": job,
                "can_change": True,
                "can_retry": request.user.has_perm("queueadmin.add_job"),
                "row_error": error,
                "now": timezone.now(),
            },
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Job #{pk} {done}.")
    return redirect_to(request, safe_next(request, reverse("queueadmin:job", args=[pk])))
