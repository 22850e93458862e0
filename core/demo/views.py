"""The demo's example pages.

The progress example: a customer-style page that starts a job and follows it with
static/queueadmin/progress.js.

The page POSTs its form to ``progress_start``, which enqueues a ``demo.slow`` job
and answers its public status URL; the browser then polls that URL with
``watchJob`` (no login needed for the polling itself).

Both need an active staff user holding ``queueadmin.add_job`` (the page enqueues jobs):
anonymous visitors are sent to the login page, anyone else gets 403.

The push hook (``hook``): the endpoint the demo's push subscription POSTs the topic's
batches to. It checks the batch's shape and answers 200, so the group's offsets are
committed; it stores nothing and needs no login (the pusher has none) nor CSRF token.
"""

import json
from collections.abc import Callable
from functools import wraps

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from core.queue import enqueue

#: What the example pages need besides an active staff account: they enqueue jobs.
PERMISSION = "queueadmin.add_job"

View = Callable[..., HttpResponse]


class StartForm(forms.Form):
    """What the visitor may choose: how many steps, and how long each one takes."""

    steps = forms.IntegerField(min_value=1, max_value=50, initial=10)
    step_seconds = forms.FloatField(min_value=0, max_value=5, initial=0.5)


def _error(status: int, message: str) -> JsonResponse:
    """An error shaped like the API's: ``{"error": {"status", "message"}}``."""
    return JsonResponse({"error": {"status": status, "message": message}}, status=status)


def _post_only(request: HttpRequest) -> JsonResponse | None:
    """A 405 (with ``Allow: POST``) unless the request is a POST."""
    if request.method == "POST":
        return None
    response = _error(405, f"{request.method} is not allowed here; use POST")
    response["Allow"] = "POST"
    return response


def _may_enqueue(*, json: bool) -> Callable[[View], View]:
    """Only active staff holding PERMISSION; anonymous users go to the login page.

    Others get 403: a JSON error for the start endpoint (``json``), Django's
    403 page for the page.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not (user.is_active and user.is_staff and user.has_perm(PERMISSION)):
                message = f"only active staff users holding {PERMISSION} may start example jobs"
                if json:
                    return _error(403, message)
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


@_may_enqueue(json=False)
def progress(request: HttpRequest) -> HttpResponse:
    """The page: a form, a <progress> bar, a status line and the job's output."""
    return render(request, "queueadmin_demo/progress.html", {"form": StartForm()})


@_may_enqueue(json=True)
def progress_start(request: HttpRequest) -> HttpResponse:
    """POST steps and step_seconds: enqueue demo.slow, answer its id and status URL."""
    if (refused := _post_only(request)) is not None:
        return refused
    form = StartForm(request.POST)
    if not form.is_valid():
        message = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        return _error(400, message)
    job = enqueue("demo.slow", form.cleaned_data)
    return JsonResponse(
        {"job_id": job.pk, "status_url": request.build_absolute_uri(job.status_url)},
        status=201,
    )


def _batch_problem(batch: object) -> str | None:
    """What is wrong with a push batch, or None: ``{"topic": str, "partition": int,
    "messages": [{"offset": int, …}, …]}`` as core.streams.delivery sends it."""
    if not isinstance(batch, dict):
        return "the body must be a JSON object"
    if not isinstance(batch.get("topic"), str):
        return "topic: must be a string"
    partition = batch.get("partition")
    if isinstance(partition, bool) or not isinstance(partition, int) or partition < 0:
        return "partition: must be a partition number"
    messages = batch.get("messages")
    if not isinstance(messages, list):
        return "messages: must be a list"
    for message in messages:
        offset = message.get("offset") if isinstance(message, dict) else None
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 1:
            return "messages: each must be an object with an offset (1 or more)"
    return None


@csrf_exempt
def hook(request: HttpRequest) -> HttpResponse:
    """POST a push batch: 200 with what was received (``received``, ``last_offset``);
    400 for a body that is not such a batch, 405 for any other method."""
    if (refused := _post_only(request)) is not None:
        return refused
    try:
        batch = json.loads(request.body)
    except ValueError as exc:
        return _error(400, f"the body is not JSON: {exc}")
    except RecursionError:
        return _error(400, "the body's JSON is nested too deeply")
    if (problem := _batch_problem(batch)) is not None:
        return _error(400, problem)
    offsets = [message["offset"] for message in batch["messages"]]
    return JsonResponse(
        {
            "received": len(offsets),
            "topic": batch["topic"],
            "partition": batch["partition"],
            "last_offset": max(offsets, default=None),
            "subscription": request.headers.get("X-Queueadmin-Subscription", ""),
        }
    )
