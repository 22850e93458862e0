"""The "New job" page: enqueue one job by hand, recorded with the acting user."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from core.dashboard.access import actor, staff_page
from core.dashboard.forms.job_new import NewJobForm
from core.dashboard.redirects import redirect_to
from core.exceptions import InvalidJobError
from core.handlers import autodiscover, get_handler, registered
from core.jobs.manual import enqueue_by


def job_types() -> list[str]:
    """The job types with a registered handler (the form's suggestions)."""
    autodiscover()  # workers import the handler modules; this process may not have yet
    return registered()


@staff_page("queueadmin.add_job")
def job_new(request: HttpRequest) -> HttpResponse:
    """Enqueue a job: a type, a JSON payload and every enqueue option; the queue API's
    objections come back beside their fields with the input kept."""
    form = NewJobForm(request.POST if request.method == "POST" else None)
    existing = None
    if request.method == "POST" and form.is_valid():
        arguments = form.arguments()
        try:
            job = enqueue_by(actor(request), via="dashboard", **arguments)
        except InvalidJobError as exc:
            form.add_queue_error(str(exc))
        else:
            if not job.deduplicated:
                messages.success(request, f"Job #{job.pk} {job.job_type} enqueued.")
                if get_handler(job.job_type) is None:
                    messages.warning(
                        request,
                        f"No handler for {job.job_type!r} is registered here: a worker "
                        "without one fails the job (no_handler).",
                    )
                return redirect_to(request, reverse("queueadmin:job", args=[job.pk]))
            existing = job  # the page shows it, linked, above the form
            form.add_error(
                "idempotency_key", f"Job #{job.pk} has this key already; nothing was added."
            )
    return render(
        request,
        "queueadmin/job_new.html",
        {"form": form, "job_types": job_types(), "existing": existing},
    )
