"""Bulk actions: on the selected rows, and on everything matching the filter.

The latter is a conversation: a count and a confirmation first, then chunks,
each request doing about a second of work and asking htmx for the next, so
no request runs long however many jobs match. Each action needs its own
permissions (``PERMISSIONS``): delete needs ``delete_job``, not ``change_job``.
"""

import json
import time
from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from core import conf
from core.dashboard.access import actor, staff_action, staff_page
from core.dashboard.redirects import redirect_to, safe_next
from core.exceptions import InvalidJobError
from core.insights import counts
from core.insights.filters import JobFilterForm
from core.jobs import bulk, dependencies
from core.jobs.filters import filter_jobs
from core.models import Job, JobStatus
from core.models.jobs import event_metadata

#: Filters stored as ISO text between the requests of one bulk action.
_DATES = ("created_after", "created_before")

#: The permissions each action needs (others: change_job). A retry runs jobs again:
#: like enqueueing, it needs add_job too.
PERMISSIONS = {
    "retry": ("queueadmin.change_job", "queueadmin.add_job"),
    "delete": ("queueadmin.delete_job",),
}
#: Why jobs of a selection were left alone, per action.
_SKIPPED = {
    "delete": "processing, or a job held for its dependencies waits on them",
}


def _action(request: HttpRequest) -> str:
    name = request.POST.get("action") or request.GET.get("action") or ""
    if name not in bulk.ACTIONS:
        if not request.user.has_perm("queueadmin.change_job"):
            raise PermissionDenied("you need the queueadmin.change_job permission")
        raise InvalidJobError(f"unknown bulk action {name!r}; actions: {', '.join(bulk.ACTIONS)}")
    for permission in PERMISSIONS.get(name, ("queueadmin.change_job",)):
        if not request.user.has_perm(permission):
            raise PermissionDenied(f"{bulk.ACTIONS[name].verb} needs the {permission} permission")
    return name


@staff_action("queueadmin.view_job")
def bulk_selected(request: HttpRequest) -> HttpResponse:
    """Apply an action to the jobs whose boxes are ticked."""
    back = safe_next(request, reverse("queueadmin:jobs"))
    try:
        name = _action(request)
        ids = [int(i) for i in request.POST.getlist("ids") if i.isascii() and i.isdigit()]
        if not ids:
            raise InvalidJobError("select at least one job first")
        metadata = event_metadata(actor(request), bulk=True)
        changed, last = 0, 0
        while last is not None:
            count, last = bulk.change_chunk(name, {"ids": ids}, after_id=last, metadata=metadata)
            changed += count
    except InvalidJobError as exc:
        messages.error(request, str(exc).capitalize())
        return redirect_to(request, back)
    skipped = len(ids) - changed
    why = _SKIPPED.get(name, "not in a state that allows it")
    note = f"; {skipped} skipped ({why})" if skipped else ""
    messages.success(request, f"{bulk.ACTIONS[name].done.capitalize()} {changed} job(s){note}.")
    return redirect_to(request, back)


def _frozen_filters(form: JobFilterForm) -> dict:
    """The filter form as filter_jobs keywords, with relative times made absolute."""
    filters = form.filters()
    search = form.search()
    if search is not None:
        filters["ids"] = list(Job.objects.filter(search).values_list("id", flat=True)[:10])
    return filters


def _dump(filters: dict) -> str:
    return json.dumps(
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in filters.items()}
    )


def _load(text: str) -> dict:
    try:
        filters = json.loads(text)
        if not isinstance(filters, dict):
            raise ValueError
        for name in _DATES:
            if name in filters:
                filters[name] = datetime.fromisoformat(filters[name])
    except (ValueError, TypeError):
        raise InvalidJobError("the bulk action's filters are not valid; start again") from None
    return filters


@staff_page("queueadmin.view_job")
def bulk_confirm(request: HttpRequest) -> HttpResponse:
    """Fragment: how many jobs the action would touch, with Confirm and Keep buttons."""
    form = JobFilterForm(request.GET)
    context = {"form": form}
    try:
        name = _action(request)
        if not form.is_valid():
            raise InvalidJobError("fix the filters first")
        filters = _frozen_filters(form)
        if not any(v for k, v in filters.items() if k != "tag_mode"):
            raise InvalidJobError(
                "choose a filter or a status tab first; this would touch every job"
            )
        matching = bulk.matching(name, filters)
        context.update(
            action=name,
            spec=bulk.ACTIONS[name],
            total=counts.count(matching),
            filters=_dump(filters),
            up_to_id=Job.objects.aggregate(top=Max("id"))["top"] or 0,
            described=", ".join(f"{k}={v}" for k, v in form.filters().items()) or form["q"].value(),
        )
        if bulk.ACTIONS[name].deletes:
            # Said up front: a delete leaves running jobs alone.
            running = filter_jobs(**filters).filter(status=JobStatus.PROCESSING)
            context["processing"] = counts.count(running)
    except InvalidJobError as exc:
        context["error"] = str(exc)
    return render(request, "queueadmin/jobs.html#bulk-confirm", context)


@staff_action("queueadmin.view_job")
def bulk_run(request: HttpRequest) -> HttpResponse:
    """Fragment: run chunks for about a second, then report and ask for the next."""
    context: dict = {}
    try:
        name = _action(request)
        filters = _load(request.POST.get("filters", ""))
        after_id = int(request.POST.get("after_id") or 0)
        up_to_id = int(request.POST.get("up_to_id") or 0)
        done = int(request.POST.get("done") or 0)
    except (InvalidJobError, ValueError) as exc:
        context["error"] = str(exc) if isinstance(exc, InvalidJobError) else "bad bulk request"
        return render(request, "queueadmin/jobs.html#bulk-progress", context)
    metadata = event_metadata(actor(request), bulk=True)
    deadline = time.monotonic() + conf.get("DASHBOARD_BULK_SECONDS")
    finished = False
    try:
        while True:  # at least one chunk per request, however small the budget
            changed, last = bulk.change_chunk(
                name, filters, after_id=after_id, up_to_id=up_to_id, metadata=metadata
            )
            if last is None:
                finished = True
                break
            done += changed
            after_id = last
            if time.monotonic() >= deadline:
                break
    except InvalidJobError as exc:
        context["error"] = str(exc)
    context.update(
        action=name,
        spec=bulk.ACTIONS[name],
        filters=request.POST.get("filters"),
        after_id=after_id,
        up_to_id=up_to_id,
        done=done,
        total=request.POST.get("total", ""),
        finished=finished,
    )
    total = request.POST.get("total", "").replace(",", "")  # "1,204"; "≈ 1.2M" is no count
    if finished and total.isascii() and total.isdigit() and int(total) > done:
        context["skipped"] = int(total) - done
    if finished and name == "cancel":
        dependencies.settle()  # dependents of cancelled jobs are cancelled too
    response = render(request, "queueadmin/jobs.html#bulk-progress", context)
    if finished:
        response["HX-Trigger"] = "jobs-changed"
    return response
