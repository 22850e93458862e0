"""A customer-style page that starts a job and follows it with static/queueadmin/progress.js.

The page POSTs its form to ``progress_start``, which enqueues a ``demo.slow`` job
and answers its public status URL; the browser then polls that URL with
``watchJob`` (no login needed for the polling itself).
"""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from core.queue import enqueue


class StartForm(forms.Form):
    """What the visitor may choose: how many steps, and how long each one takes."""

    steps = forms.IntegerField(min_value=1, max_value=50, initial=10)
    step_seconds = forms.FloatField(min_value=0, max_value=5, initial=0.5)


def _error(status: int, message: str) -> JsonResponse:
    """An error shaped like the API's: ``{"error": {"status", "message"}}``."""
    return JsonResponse({"error": {"status": status, "message": message}}, status=status)


@login_required
def progress(request: HttpRequest) -> HttpResponse:
    """The page: a form, a <progress> bar, a status line and the job's output."""
    return render(request, "examples/progress.html", {"form": StartForm()})


@login_required
def progress_start(request: HttpRequest) -> HttpResponse:
    """POST steps and step_seconds: enqueue demo.slow, answer its id and status URL."""
    if request.method != "POST":
        response = _error(405, f"{request.method} is not allowed here; use POST")
        response["Allow"] = "POST"
        return response
    form = StartForm(request.POST)
    if not form.is_valid():
        message = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        return _error(400, message)
    job = enqueue("demo.slow", form.cleaned_data)
    return JsonResponse(
        {"job_id": job.pk, "status_url": request.build_absolute_uri(job.status_url)},
        status=201,
    )
