"""The Cron page: every schedule with its next runs; pause, resume, run now, edit, remove.

Routes take the schedule's id (names may hold any character); the actions go
through ``core.scheduling.cron`` by name, like any other caller of the API.
"""

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError
from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from core.dashboard.access import actor, needs, staff_action, staff_page
from core.dashboard.forms.cron import (
    NEVER_FIRES,
    NewScheduleForm,
    ScheduleForm,
    expression_problem,
    zone_names,
    zone_problem,
)
from core.dashboard.redirects import redirect_to, safe_next
from core.exceptions import InvalidJobError, InvalidScheduleError, QueueError, ScheduleNotFound
from core.jobs.redaction import restore
from core.models import CronSchedule, CronStatus
from core.scheduling import cron

logger = logging.getLogger("queueadmin.dashboard")

#: Creating, editing, resuming or running a schedule now makes it enqueue jobs: a
#: cron permission alone must not grant that, so these also need add_job.
ENQUEUES = "queueadmin.add_job"

#: Fire times listed per schedule.
NEXT_RUNS = 5
#: An active schedule whose next run is this many seconds past is flagged: nothing
#: is enqueueing due schedules.
OVERDUE_AFTER = 60
#: Columns a row needs; of the last job only its type and status, never its payload.
_ROW_FIELDS = (
    "id",
    "name",
    "expression",
    "timezone",
    "job_type",
    "payload",
    "options",
    "allow_overlap",
    "status",
    "next_run_at",
    "last_enqueued_at",
    "skipped",
    "last_skipped_at",
    "last_job__id",
    "last_job__job_type",
    "last_job__status",
)


class FireTime:
    """One fire time as the page shows it: wall clock with the zone's abbreviation."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment
        self.text = moment.strftime("%Y-%m-%d %H:%M %Z")
        self.iso = moment.isoformat()
        self.offset = offset(moment)


def offset(moment: datetime) -> str:
    """The UTC offset of an aware datetime, as "UTC+05:30"."""
    minutes = int(moment.utcoffset().total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def sentence(message: str) -> str:
    """An API message without its "field: " prefix, capitalised."""
    field, sep, rest = message.partition(": ")
    text = rest if sep and field.isidentifier() else message
    return text[:1].upper() + text[1:]


def next_runs(expression: str, zone: str, now: datetime, count: int = NEXT_RUNS):
    """(fire times, None), or ([], why) when they cannot be computed."""
    try:
        return [FireTime(m) for m in cron.fire_times(expression, zone, now, count)], None
    except InvalidScheduleError as exc:
        return [], sentence(str(exc))
    except (CroniterError, ValueError, KeyError):
        return [], NEVER_FIRES


def annotate(rows: list[CronSchedule], now: datetime) -> list[CronSchedule]:
    """Give each schedule its words, next runs and an overdue flag for the templates."""
    for schedule in rows:
        schedule.words = cron.describe(schedule.expression)
        schedule.runs, schedule.runs_error = next_runs(schedule.expression, schedule.timezone, now)
        schedule.overdue = (
            schedule.status == CronStatus.ACTIVE
            and schedule.next_run_at is not None
            and (now - schedule.next_run_at).total_seconds() > OVERDUE_AFTER
        )
        schedule.queue = (schedule.options or {}).get("queue")
    return rows


def _rows():
    return CronSchedule.objects.select_related("last_job").only(*_ROW_FIELDS).order_by("name")


@staff_page("queueadmin.view_cronschedule")
def cron_list(request: HttpRequest) -> HttpResponse:
    """Every schedule, by name, with its next five runs in its own time zone."""
    now = timezone.now()
    user = request.user
    can_change = user.has_perm("queueadmin.change_cronschedule")
    enqueues = user.has_perm(ENQUEUES)
    # ?status=active|paused lists only those (another value: all, as the tabs offer).
    status = request.GET.get("status")
    rows = _rows()
    if status in CronStatus.values:
        rows = rows.filter(status=status)
    context = {
        "schedules": annotate(list(rows), now),
        "current_status": status if status in CronStatus.values else None,
        "statuses": CronStatus.values,
        "can_change": can_change,
        "can_run": can_change and enqueues,  # edit, resume, run now
        "can_delete": user.has_perm("queueadmin.delete_cronschedule"),
        "can_add": user.has_perm("queueadmin.add_cronschedule") and enqueues,
        "back": request.get_full_path(),
        "next_runs": NEXT_RUNS,
        "now": now,
    }
    template = "queueadmin/cron.html"
    if request.htmx and request.htmx.target == "cron-table":
        template += "#table"
    return render(request, template, context)


@staff_page("queueadmin.view_cronschedule")
def cron_preview(request: HttpRequest) -> HttpResponse:
    """Fragment for the forms: an expression in words and its next runs in a zone."""
    expression = " ".join(request.GET.get("expression", "").split())[:200]
    zone = request.GET.get("timezone", "").strip()[:64] or "UTC"
    context = {"expression": expression, "zone": zone}
    if expression:
        error = expression_problem(expression) or zone_problem(zone)
        runs = []
        if error is None:
            runs, error = next_runs(expression, zone, timezone.now())
        context.update(runs=runs, error=error, words=None if error else cron.describe(expression))
    return render(request, "queueadmin/cron_form.html#preview", context)


def _next_run_text(schedule: CronSchedule) -> str:
    if schedule.status != CronStatus.ACTIVE or schedule.next_run_at is None:
        return "it is paused"
    try:
        zone = ZoneInfo(schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return f"next run {FireTime(schedule.next_run_at.astimezone(zone)).text}"


def _form_page(request: HttpRequest, form, schedule: CronSchedule | None) -> HttpResponse:
    return render(
        request,
        "queueadmin/cron_form.html",
        {"form": form, "schedule": schedule, "zones": zone_names()},
    )


@staff_page("queueadmin.add_cronschedule")
@needs(ENQUEUES)
def cron_new(request: HttpRequest) -> HttpResponse:
    """Create a schedule; the API's objections come back beside their fields."""
    form = NewScheduleForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        arguments = form.arguments()
        try:
            with transaction.atomic():
                schedule = cron.add_cron(**arguments)
        except InvalidScheduleError as exc:
            form.add_api_error(str(exc))
        except IntegrityError:  # the same name created a moment ago
            form.add_error("name", "A schedule with this name exists already.")
        except CroniterError:
            form.add_error("expression", NEVER_FIRES)
        else:
            logger.info("cron name=%r created by %s", schedule.name, actor(request))
            messages.success(
                request, f"Schedule {schedule.name} created; {_next_run_text(schedule)}."
            )
            return redirect_to(request, reverse("queueadmin:cron"))
    return _form_page(request, form, None)


@staff_page("queueadmin.change_cronschedule")
@needs(ENQUEUES)
def cron_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a schedule's expression, zone and job template (its name is fixed)."""
    schedule = get_object_or_404(CronSchedule, pk=pk)
    form = ScheduleForm.for_schedule(schedule, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        try:
            if "payload" in changes:
                changes["payload"] = restore(changes["payload"], schedule.payload)
        except InvalidJobError as exc:
            form.add_api_error(str(exc))
            return _form_page(request, form, schedule)
        if not changes:
            messages.info(request, f"Schedule {schedule.name}: nothing changed.")
            return redirect_to(request, reverse("queueadmin:cron"))
        try:
            schedule = cron.edit_cron(schedule.name, **changes)
        except ScheduleNotFound:
            raise Http404("no such schedule") from None
        except InvalidScheduleError as exc:
            form.add_api_error(str(exc))
        except CroniterError:
            form.add_error("expression", NEVER_FIRES)
        else:
            logger.info(
                "cron name=%r edited by %s: %s", schedule.name, actor(request), sorted(changes)
            )
            saved = f"Schedule {schedule.name} saved; {_next_run_text(schedule)}."
            messages.success(request, saved)
            return redirect_to(request, reverse("queueadmin:cron"))
    return _form_page(request, form, schedule)


def _schedule(pk: int) -> CronSchedule:
    return get_object_or_404(CronSchedule.objects.only("id", "name", "status", "timezone"), pk=pk)


def _done(request: HttpRequest, message, *, error: bool = False) -> HttpResponse:
    (messages.error if error else messages.success)(request, message)
    return redirect_to(request, safe_next(request, reverse("queueadmin:cron")))


@staff_action("queueadmin.change_cronschedule")
def cron_pause(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop a schedule firing until it is resumed."""
    schedule = _schedule(pk)
    if schedule.status == CronStatus.PAUSED:
        return _done(request, f"Schedule {schedule.name} is already paused.", error=True)
    try:
        cron.pause_cron(schedule.name)
    except ScheduleNotFound:
        raise Http404("no such schedule") from None
    logger.info("cron name=%r paused by %s", schedule.name, actor(request))
    return _done(request, f"Schedule {schedule.name} paused.")


@staff_action("queueadmin.change_cronschedule")
@needs(ENQUEUES)
def cron_resume(request: HttpRequest, pk: int) -> HttpResponse:
    """Fire again from the next fire time after now (missed ones are not caught up)."""
    schedule = _schedule(pk)
    if schedule.status == CronStatus.ACTIVE:
        return _done(request, f"Schedule {schedule.name} is already active.", error=True)
    try:
        schedule = cron.resume_cron(schedule.name)
    except ScheduleNotFound:
        raise Http404("no such schedule") from None
    except (InvalidScheduleError, CroniterError) as exc:
        return _done(request, f"Schedule {schedule.name} cannot resume: {exc}", error=True)
    logger.info("cron name=%r resumed by %s", schedule.name, actor(request))
    return _done(request, f"Schedule {schedule.name} resumed; {_next_run_text(schedule)}.")


@staff_action("queueadmin.change_cronschedule")
@needs(ENQUEUES)
def cron_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Enqueue the schedule's job now, whatever its fire times and overlap rule."""
    schedule = _schedule(pk)
    try:
        job = cron.run_cron_now(schedule.name)
    except ScheduleNotFound:
        raise Http404("no such schedule") from None
    except QueueError as exc:
        return _done(request, f"Schedule {schedule.name} could not run: {exc}", error=True)
    logger.info("cron name=%r run now by %s: job id=%s", schedule.name, actor(request), job.pk)
    return _done(
        request,
        format_html(
            'Schedule {} ran: <a href="{}">job #{}</a> enqueued.',
            schedule.name,
            reverse("queueadmin:job", args=[job.pk]),
            job.pk,
        ),
    )


@staff_action("queueadmin.delete_cronschedule")
def cron_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a schedule; the jobs it enqueued stay."""
    schedule = _schedule(pk)
    try:
        cron.remove_cron(schedule.name)
    except ScheduleNotFound:
        raise Http404("no such schedule") from None
    logger.info("cron name=%r removed by %s", schedule.name, actor(request))
    return _done(request, f"Schedule {schedule.name} removed; the jobs it enqueued stay.")
