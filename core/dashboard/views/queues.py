"""The Queues page: every queue with its jobs per status, running jobs and limits (pause,
resume, edit the limits), and the channels with a policy (add, edit, clear).

Names travel as query or form values, never in the path: queue and channel names
may hold ``/``. Every change goes through ``core.scheduling.policies`` with the user as actor.
"""

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from core import conf
from core.dashboard.access import actor, needs, staff_action, staff_page
from core.dashboard.forms.queues import ChannelPolicyForm, QueueLimitsForm
from core.dashboard.redirects import redirect_to, safe_next
from core.exceptions import InvalidPolicyError
from core.insights import counts
from core.insights.paging import keyset_page
from core.models import ChannelPolicy, Job, JobStatus, Queue
from core.scheduling import policies

TEMPLATE = "queueadmin/queues.html"
#: Longest channel search text.
SEARCH_MAX = 200
#: htmx events that make the tables refresh after a change made in a panel.
QUEUES_CHANGED, CHANNELS_CHANGED = "queues-changed", "channels-changed"


def seconds_text(value: float | None) -> str:
    """Seconds as the forms take them: "1 s", "0.5 s", "3600 s"."""
    return "" if value is None else f"{value:g} s"


# -- rows ---------------------------------------------------------------------------------


class QueueRow:
    """One queue as the table shows it."""

    def __init__(self, name: str, cells: dict[str, counts.Count], usage: policies.Usage) -> None:
        self.name = name
        self.cells = [(status, cells[status]) for status in JobStatus.values]
        self.usage = usage
        self.paused = usage.paused
        self.period = seconds_text(usage.policy.rate_period) if usage.policy else ""


def queue_rows() -> tuple[list[QueueRow], bool]:
    """Every queue with jobs or a policy, by name, and whether any count is an estimate.

    A fixed number of queries, whatever the number of queues.
    """
    names = list(Queue.objects.order_by("name").values_list("name", flat=True))
    totals, table = counts.queue_status_counts(names)
    running = {name: cells[JobStatus.PROCESSING].value for name, cells in table.items()}
    usage = policies.queue_usage(table, running)
    rows = [QueueRow(name, cells, usage[name]) for name, cells in table.items()]
    return rows, not totals["all"].exact


def queue_row(name: str) -> QueueRow:
    """One queue's row (after an action)."""
    cells = counts.status_counts(Job.objects.filter(queue=name))
    return QueueRow(name, cells, policies.queue_usage([name])[name])


class ChannelRow:
    """One channel policy as the table shows it."""

    def __init__(self, policy: ChannelPolicy, usage: policies.Usage, pending: int | None) -> None:
        self.name = policy.name
        self.policy = policy
        self.usage = usage
        self.pending = pending
        self.interval = seconds_text(policy.release_interval)


def _channels_url(**params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return reverse("queueadmin:queues") + (f"?{query}" if query else "")


def _pending(names: list[str]) -> dict[str, int] | None:
    """Pending jobs of each channel in ``names``: one grouped query, within the page's
    counting budget on PostgreSQL (None when it ran out: a channel with millions of
    pending jobs must not stall the page)."""
    if not names:
        return {}

    def group() -> dict[str, int]:
        rows = (
            Job.objects.filter(status=JobStatus.PENDING, channel__in=names)
            .order_by()
            .values_list("channel")
            .annotate(n=Count("id"))
        )
        return dict(rows)

    counter = counts.Counter()
    if not counter.driver.supports_estimates:
        return group()
    return counter.driver.run_within(max(counter.remaining(), 0.05), group)


def channel_page(search: str, after: str | None, size: int) -> dict[str, Any]:
    """One keyset page of channel policies by name (``after`` the given name), with their
    running and pending jobs; a fixed number of queries."""
    qs = ChannelPolicy.objects.filter(name__icontains=search) if search else ChannelPolicy.objects
    page, more = keyset_page(qs, ["name"], [after] if after else None, size)
    names = [policy.name for policy in page]
    usage = policies.channel_usage(names)
    pending = _pending(names)
    return {
        "channels": [
            ChannelRow(p, usage[p.name], None if pending is None else pending.get(p.name, 0))
            for p in page
        ],
        "search": search,
        "channels_url": _channels_url(q=search, after=after),
        "first_url": _channels_url(q=search) if after else None,
        "next_url": _channels_url(q=search, after=page[-1].name) if more else None,
    }


def _search(request: HttpRequest) -> tuple[str, str | None]:
    search = request.GET.get("q", "").strip()[:SEARCH_MAX]
    after = request.GET.get("after", "")[:SEARCH_MAX] or None
    return search, after


# -- the page -----------------------------------------------------------------------------


def _permissions(request: HttpRequest) -> dict[str, bool]:
    has = request.user.has_perm
    return {
        "can_change": has("queueadmin.change_queue"),
        "can_view_channels": has("queueadmin.view_channelpolicy"),
        "can_add_channel": has("queueadmin.add_channelpolicy"),
        "can_change_channel": has("queueadmin.change_channelpolicy"),
        "can_delete_channel": has("queueadmin.delete_channelpolicy"),
    }


def _page(request: HttpRequest, **panels: Any) -> HttpResponse:
    """The whole page; ``panels`` opens a form (``queue_form`` or ``channel_form``)."""
    context = {**_permissions(request), **panels}
    rows, estimated = queue_rows()
    context.update(
        queues=rows,
        estimated=estimated,
        statuses=JobStatus.values,
        back=reverse("queueadmin:queues"),
    )
    if context["can_view_channels"]:
        search, after = _search(request) if not panels else ("", None)
        context.update(channel_page(search, after, conf.get("DASHBOARD_PAGE_SIZE")))
    return render(request, TEMPLATE, context)


@staff_page("queueadmin.view_queue")
def queue_list(request: HttpRequest) -> HttpResponse:
    """Queues with counts, running jobs and limits; channel policies, searchable."""
    target = request.htmx.target if request.htmx else None
    if target == "queue-table":
        rows, estimated = queue_rows()
        context = {
            **_permissions(request),
            "queues": rows,
            "estimated": estimated,
            "statuses": JobStatus.values,
            "back": reverse("queueadmin:queues"),
        }
        return render(request, f"{TEMPLATE}#queues", context)
    if target == "channel-table":
        if not request.user.has_perm("queueadmin.view_channelpolicy"):
            raise PermissionDenied("you need the queueadmin.view_channelpolicy permission")
        search, after = _search(request)
        context = {
            **_permissions(request),
            **channel_page(search, after, conf.get("DASHBOARD_PAGE_SIZE")),
        }
        return render(request, f"{TEMPLATE}#channels", context)
    return _page(request)


# -- queue actions ------------------------------------------------------------------------


def _toggle(request: HttpRequest, paused: bool) -> HttpResponse:
    name = request.POST.get("name", "")
    error = notice = None
    try:
        if paused:
            policies.pause_queue(name, actor=actor(request))
            notice = f"Queue {name} paused: running jobs finish, no new job starts."
        else:
            policies.resume_queue(name, actor=actor(request))
            notice = f"Queue {name} resumed."
    except InvalidPolicyError as exc:
        error = f"Queue {name[:100]!r} cannot be {'paused' if paused else 'resumed'}: {exc}"
    if request.htmx and request.POST.get("row") and error is None:
        context = {
            "row": queue_row(name),
            "row_notice": notice,
            "statuses": JobStatus.values,
            "can_change": True,
            "back": safe_next(request, reverse("queueadmin:queues")),
        }
        return render(request, f"{TEMPLATE}#queue_row", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect_to(request, safe_next(request, reverse("queueadmin:queues")))


@staff_action("queueadmin.change_queue")
def queue_pause(request: HttpRequest) -> HttpResponse:
    """Stop starting jobs of a queue; running ones finish."""
    return _toggle(request, True)


@staff_action("queueadmin.change_queue")
def queue_resume(request: HttpRequest) -> HttpResponse:
    """Start jobs of a paused queue again."""
    return _toggle(request, False)


def _done(request: HttpRequest, notice: str, event: str) -> HttpResponse:
    """A saved panel: htmx gets the notice and refreshes the table; others go back."""
    if request.htmx:
        panel = "queue-panel" if event == QUEUES_CHANGED else "channel-panel"
        context = {"notice": notice, "panel": panel}
        response = render(request, f"{TEMPLATE}#panel_done", context)
        response["HX-Trigger"] = event
        return response
    messages.success(request, notice)
    return redirect_to(request, reverse("queueadmin:queues"))


def _limits_text(row: Queue) -> str:
    if row.max_concurrency is None:
        concurrency = "no concurrency limit"
    else:
        concurrency = f"max concurrency {row.max_concurrency}"
    if row.rate_limit is None:
        rate = "no rate limit"
    else:
        rate = f"rate limit {row.rate_limit} per {seconds_text(row.rate_period)}"
    return f"{concurrency}, {rate}"


@staff_page("queueadmin.view_queue")
@needs("queueadmin.change_queue")
def queue_limits(request: HttpRequest) -> HttpResponse:
    """A queue's max concurrency, rate limit and period; nothing is saved on bad input."""
    try:
        name = policies.queue_name(request.GET.get("queue", ""))
    except InvalidPolicyError:
        raise Http404("no such queue") from None
    row = Queue.objects.filter(name=name).first()
    form = QueueLimitsForm(name, row, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        if not changes:
            return _done(request, f"Queue {name}: nothing changed.", QUEUES_CHANGED)
        try:
            row = policies.set_queue_policy(name, **changes, actor=actor(request))
        except InvalidPolicyError as exc:
            form.add_api_error(exc)
        else:
            return _done(request, f"Queue {name} saved: {_limits_text(row)}.", QUEUES_CHANGED)
    if request.htmx:
        return render(request, f"{TEMPLATE}#limits", {"form": form, "queue_name": name})
    return _page(request, queue_form=form, queue_name=name)


# -- channel policies ---------------------------------------------------------------------


def _channel_text(row: ChannelPolicy) -> str:
    if row.max_concurrency is None:
        concurrency = "no concurrency limit"
    else:
        concurrency = f"max concurrency {row.max_concurrency}"
    if row.release_interval is None:
        return f"{concurrency}, no release interval"
    return f"{concurrency}, release interval {seconds_text(row.release_interval)}"


def _channel_form(request: HttpRequest, row: ChannelPolicy | None) -> HttpResponse:
    form = ChannelPolicyForm(row, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        name = row.name if row is not None else data["name"]
        if row is None and ChannelPolicy.objects.filter(name=name).exists():
            form.add_error("name", "This channel has a policy already: edit it instead.")
        else:
            try:
                saved = policies.set_channel_policy(
                    name,
                    max_concurrency=data["max_concurrency"],
                    release_interval=data["release_interval"],
                    actor=actor(request),
                )
            except InvalidPolicyError as exc:
                form.add_api_error(exc)
            else:
                notice = f"Channel {name} saved: {_channel_text(saved)}."
                return _done(request, notice, CHANNELS_CHANGED)
    if request.htmx:
        return render(request, f"{TEMPLATE}#channel_form", {"form": form, "channel": row})
    return _page(request, channel_form=form, channel=row)


@staff_page("queueadmin.view_queue")
@needs("queueadmin.view_channelpolicy", "queueadmin.add_channelpolicy")
def channel_new(request: HttpRequest) -> HttpResponse:
    """A policy for a channel that has none."""
    return _channel_form(request, None)


@staff_page("queueadmin.view_queue")
@needs("queueadmin.view_channelpolicy", "queueadmin.change_channelpolicy")
def channel_edit(request: HttpRequest) -> HttpResponse:
    """Replace a channel's policy (its max concurrency and release interval)."""
    row = ChannelPolicy.objects.filter(name=request.GET.get("channel", "")).first()
    if row is None:
        raise Http404("no policy for this channel")
    return _channel_form(request, row)


@staff_action("queueadmin.delete_channelpolicy")
def channel_clear(request: HttpRequest) -> HttpResponse:
    """Remove a channel's policy: its jobs run without limits."""
    name = request.POST.get("name", "")
    try:
        existed = policies.clear_channel_policy(name, actor=actor(request))
    except InvalidPolicyError:
        existed = False
    if not existed:
        raise Http404("no policy for this channel")
    notice = f"Channel {name}: policy cleared; its jobs run without limits."
    if request.htmx and request.POST.get("row"):
        return render(request, f"{TEMPLATE}#channel_cleared", {"name": name, "notice": notice})
    messages.success(request, notice)
    return redirect_to(request, safe_next(request, reverse("queueadmin:queues")))
