"""One job: every field, payload and output, errors, events; edit and delete.

The values of the REDACT setting's keys are shown as "•••" (payload, output, step
data, event metadata) and an edit keeps the stored value wherever the mask is left.
"""

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from core import queue
from core.dashboard.access import actor, staff_action, staff_page
from core.dashboard.forms.jobs import EditJobForm
from core.dashboard.redirects import redirect_to
from core.dashboard.views.tokens import annotate
from core.exceptions import InvalidJobError, QueueError
from core.insights.explain import why_not_running
from core.jobs.redaction import redact, redacted_keys, restore
from core.models import Job

#: Events shown on the page (the newest); the rest stay in the admin.
EVENT_LIMIT = 200
#: Fields with their own section instead of a row in the fields table.
_SECTIONS = {"payload", "output", "errors", "step_data"}
FIELDS = [f.name for f in Job._meta.concrete_fields if f.name not in _SECTIONS]


def _context(request: HttpRequest, job: Job) -> dict:
    now = timezone.now()
    events = queue.job_events(job, EVENT_LIMIT + 1)
    # Token ids are capabilities: only users who may see tokens get them (one query).
    can_view_tokens = request.user.has_perm("queueadmin.view_waittoken")
    tokens = list(job.tokens.order_by("-created_at", "-id")) if can_view_tokens else []
    keys = redacted_keys()
    shown = events[:EVENT_LIMIT]
    for event in shown:  # an edit's metadata holds the payload before and after
        event.metadata = redact(event.metadata, keys)
    return {
        "job": job,
        "payload": redact(job.payload, keys),
        "output": redact(job.output, keys),
        "step_data": redact(job.step_data, keys),
        "fields": FIELDS,
        "events": shown,
        "more_events": len(events) > EVENT_LIMIT,
        "errors": list(reversed(job.errors or [])),
        "why": why_not_running(job, now),
        "now": now,
        "can_change": request.user.has_perm("queueadmin.change_job"),
        # A retry makes the job run again: it needs add_job too.
        "can_retry": request.user.has_perms(["queueadmin.change_job", "queueadmin.add_job"]),
        "can_delete": request.user.has_perm("queueadmin.delete_job"),
        "tokens": annotate(tokens, now),
        "can_view_tokens": can_view_tokens,
        "can_change_tokens": request.user.has_perm("queueadmin.change_waittoken"),
        "back": reverse("queueadmin:job", args=[job.pk]),
    }


@staff_page("queueadmin.view_job")
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The job page; its live part refreshes by polling."""
    job = get_object_or_404(Job, pk=pk)
    template = "queueadmin/job.html"
    if request.htmx and request.htmx.target == "job-live":
        template += "#live"
    return render(request, template, _context(request, job))


@staff_page("queueadmin.change_job")
def job_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit payload, priority, run_at, tags and max_attempts of a pending job."""
    job = get_object_or_404(Job, pk=pk)
    form = EditJobForm.for_job(job, request.POST if request.method == "POST" else None)
    # Shown redacted; an untouched box is no change, and a kept mask keeps the value.
    form.initial["payload"] = json.dumps(redact(job.payload), indent=2, ensure_ascii=False)
    if request.method == "POST" and form.is_valid():
        try:
            changes = form.changes()
            if "payload" in changes:
                changes["payload"] = restore(changes["payload"], job.payload)
            if changes:
                queue.edit_job(pk, actor=actor(request), **changes)
        except InvalidJobError as exc:
            form.add_error(None, str(exc))
        except QueueError as exc:
            messages.error(request, str(exc))
            return redirect_to(request, reverse("queueadmin:job", args=[pk]))
        else:
            messages.success(request, f"Job #{pk} saved.")
            return redirect_to(request, reverse("queueadmin:job", args=[pk]))
    return render(request, "queueadmin/job_edit.html", {"job": job, "form": form})


@staff_action("queueadmin.delete_job")
def job_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a job that is not running, with its history."""
    try:
        queue.delete_job(pk, actor=actor(request))
    except QueueError as exc:
        messages.error(request, str(exc))
        return redirect_to(request, reverse("queueadmin:job", args=[pk]))
    messages.success(request, f"Job #{pk} deleted.")
    return redirect_to(request, reverse("queueadmin:jobs"))
