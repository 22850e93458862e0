"""Cron schedules: add, edit, pause, resume, remove, run now, and enqueue due ones.

Fire times come from croniter in the schedule's timezone, with the classic
cron rules at DST changes: on a spring-forward day a time that does not
exist fires once, right after the gap; on a fall-back day a fixed time in
the repeated hour fires once (its second occurrence is skipped), while
expressions with a wildcard hour keep firing every real hour.

Each fire time enqueues one job whose idempotency key names the schedule
and the fire time, so however many workers enqueue due schedules at once,
the database's unique key lets exactly one job through.
"""

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter
from django.db import IntegrityError, transaction
from django.utils import timezone as dj_timezone

from core import conf
from core.exceptions import InvalidJobError, InvalidScheduleError, ScheduleNotFound
from core.jobs.enqueue import enqueue
from core.jobs.spec import clean_job
from core.models import CronSchedule, CronStatus, Job, JobStatus
from core.validation import Checks, text_problem

logger = logging.getLogger("queueadmin.cron")

#: Job statuses during which a schedule without overlap skips its fire times.
UNFINISHED = (JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.WAITING)
#: Enqueue options a schedule's job template may not set (each fire decides them).
_NOT_IN_TEMPLATE = {"run_at", "delay", "idempotency_key", "depends_on"}
#: Schedules enqueued per enqueue_due() transaction.
BATCH = 100

check = Checks(InvalidScheduleError)


def _zone(name: Any) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise InvalidScheduleError(
            f"timezone: must be a zone name like 'Europe/London', got {name!r}"
        )
    if len(name) > CronSchedule._meta.get_field("timezone").max_length or text_problem(name):
        raise InvalidScheduleError(f"timezone: unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidScheduleError(f"timezone: unknown time zone {name!r}") from None


def _expression(text: Any) -> str:
    if isinstance(text, str):
        check.text("expression", text, CronSchedule._meta.get_field("expression").max_length)
    if not isinstance(text, str) or not croniter.is_valid(text.strip()):
        raise InvalidScheduleError(
            f"expression: not a valid cron expression: {text!r} "
            "(five fields: minute hour day-of-month month day-of-week)"
        )
    if len(text.split()) != 5:
        raise InvalidScheduleError(f"expression: needs exactly five fields, got {text!r}")
    return " ".join(text.split())


def _fixed_hour(expression: str) -> bool:
    hour = expression.split()[1]
    return not (hour == "*" or hour.startswith("*/"))


def _repeated(moment: datetime) -> bool:
    """True for the second occurrence of a wall-clock time repeated by a fall-back."""
    first, second = moment.replace(fold=0), moment.replace(fold=1)
    return first.utcoffset() != second.utcoffset() and moment.utcoffset() == second.utcoffset()


def fire_times(expression: str, zone: str, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times after ``after``, as aware datetimes in ``zone``."""
    tz = _zone(zone)
    it = croniter(expression, after.astimezone(tz))
    fixed = _fixed_hour(expression)
    times: list[datetime] = []
    while len(times) < count:
        try:
            moment = it.get_next(datetime)
        except CroniterBadDateError:
            raise InvalidScheduleError(
                f"expression: {expression!r} never fires (no such date)"
            ) from None
        if fixed and _repeated(moment):
            continue  # classic cron: a fixed time in the repeated hour fires once
        times.append(moment)
    return times


def _next_after(schedule: CronSchedule, moment: datetime) -> datetime:
    return fire_times(schedule.expression, schedule.timezone, moment, 1)[0]


def describe(expression: str) -> str:
    """The expression in plain words ("At 01:30, Monday through Friday")."""
    from cron_descriptor import Options, get_description

    options = Options()
    options.use_24hour_time_format = True
    try:
        return get_description(expression, options)
    except Exception:  # the library raises its own types for odd inputs
        return expression


def _template(job_type: Any, payload: Any, options: dict[str, Any]) -> dict[str, Any]:
    options = {k: v.total_seconds() if isinstance(v, timedelta) else v for k, v in options.items()}
    bad = sorted(set(options) & _NOT_IN_TEMPLATE)
    if bad:
        raise InvalidScheduleError(f"a schedule's job cannot set {', '.join(bad)}")
    try:
        cleaned = clean_job(job_type, payload, **options)
    except InvalidJobError as exc:
        raise InvalidScheduleError(str(exc)) from None
    except TypeError as exc:
        raise InvalidScheduleError(str(exc)) from None
    # Durations given as text ("15m") are stored as the seconds they stand for.
    options = {
        k: cleaned[k] if isinstance(v, str) and isinstance(cleaned.get(k), float) else v
        for k, v in options.items()
    }
    return check.json("options", options)


def _name(name: Any) -> str:
    return check.text("name", name, 200).strip()


def _lookup(name: Any) -> Any:
    """``name`` if a schedule could be called that, else ScheduleNotFound (no query)."""
    if not isinstance(name, str) or text_problem(name):
        raise ScheduleNotFound(f"no cron schedule named {name!r}")
    return name


def get_cron(name: str) -> CronSchedule:
    """The schedule called ``name``, or ScheduleNotFound."""
    schedule = CronSchedule.objects.filter(name=_lookup(name)).first()
    if schedule is None:
        raise ScheduleNotFound(f"no cron schedule named {name!r}")
    return schedule


def add_cron(
    name: str,
    expression: str,
    job_type: str,
    payload: Any = None,
    *,
    timezone: str = "UTC",
    allow_overlap: bool = False,
    **options: Any,
) -> CronSchedule:
    """Create a schedule; ``options`` are enqueue options of its job (queue,
    priority, tags, timeout, max_attempts, retry settings...)."""
    name = _name(name)
    expression = _expression(expression)
    _zone(timezone)
    options = _template(job_type, payload, options)
    if not isinstance(allow_overlap, bool):
        raise InvalidScheduleError(f"allow_overlap: must be True or False, got {allow_overlap!r}")
    if CronSchedule.objects.filter(name=name).exists():
        raise InvalidScheduleError(f"name: a schedule named {name!r} exists already")
    schedule = CronSchedule(
        name=name,
        expression=expression,
        timezone=timezone,
        job_type=job_type,
        payload=check.json("payload", payload),
        options=options,
        allow_overlap=allow_overlap,
    )
    schedule.next_run_at = _next_after(schedule, dj_timezone.now())
    try:
        with transaction.atomic():
            schedule.save()
    except IntegrityError:  # a concurrent add_cron took the name first
        raise InvalidScheduleError(f"name: a schedule named {name!r} exists already") from None
    return schedule


#: Fields edit_cron changes directly; anything else is an option of the job.
_SCHEDULE_FIELDS = {"expression", "timezone", "job_type", "payload", "allow_overlap"}


def edit_cron(name: str, **changes: Any) -> CronSchedule:
    """Change a schedule (expression, timezone, job_type, payload, allow_overlap, or
    job options such as queue or priority); the next run is recomputed."""
    if not changes:
        raise InvalidScheduleError("nothing to edit: give at least one field")
    with transaction.atomic():
        schedule = CronSchedule.objects.select_for_update().filter(name=_lookup(name)).first()
        if schedule is None:
            raise ScheduleNotFound(f"no cron schedule named {name!r}")
        if "expression" in changes:
            schedule.expression = _expression(changes["expression"])
        if "timezone" in changes:
            _zone(changes["timezone"])
            schedule.timezone = changes["timezone"]
        if "allow_overlap" in changes:
            if not isinstance(changes["allow_overlap"], bool):
                raise InvalidScheduleError("allow_overlap: must be True or False")
            schedule.allow_overlap = changes["allow_overlap"]
        options = {
            **schedule.options,
            **{k: v for k, v in changes.items() if k not in _SCHEDULE_FIELDS},
        }
        job_type = changes.get("job_type", schedule.job_type)
        payload = changes.get("payload", schedule.payload)
        schedule.options = _template(job_type, payload, options)
        schedule.job_type, schedule.payload = job_type, check.json("payload", payload)
        if schedule.status == CronStatus.ACTIVE:
            schedule.next_run_at = _next_after(schedule, dj_timezone.now())
        schedule.save()
    return schedule


def pause_cron(name: str) -> CronSchedule:
    """Stop a schedule firing (its next run is kept for display but not used)."""
    schedule = get_cron(name)
    schedule.status = CronStatus.PAUSED
    schedule.save(update_fields=["status", "updated_at"])
    return schedule


def resume_cron(name: str) -> CronSchedule:
    """Fire again from the next fire time after now (missed ones are not caught up)."""
    schedule = get_cron(name)
    schedule.status = CronStatus.ACTIVE
    schedule.next_run_at = _next_after(schedule, dj_timezone.now())
    schedule.save(update_fields=["status", "next_run_at", "updated_at"])
    return schedule


def remove_cron(name: str) -> None:
    """Delete a schedule (jobs it enqueued stay)."""
    get_cron(name).delete()


def list_crons(status: str | None = None) -> list[CronSchedule]:
    """Every schedule, by name; only the active or the paused ones with ``status``."""
    schedules = CronSchedule.objects.select_related("last_job").order_by("name")
    if status is not None:
        schedules = schedules.filter(status=check.choice("status", status, CronStatus.values))
    return list(schedules)


def _enqueue(schedule: CronSchedule, key: str | None) -> Job:
    job = enqueue(schedule.job_type, schedule.payload, idempotency_key=key, **schedule.options)
    schedule.last_job_id = job.pk
    schedule.last_enqueued_at = dj_timezone.now()
    return job


def run_cron_now(name: str) -> Job:
    """Enqueue the schedule's job now, whatever its fire times and overlap rule."""
    with transaction.atomic():
        schedule = get_cron(name)
        job = _enqueue(schedule, None)
        schedule.save(update_fields=["last_job", "last_enqueued_at", "updated_at"])
    return job


#: Most missed fire times one schedule catches up on in one enqueue_due call.
CATCHUP_MAX = 1000


def _missed(schedule: CronSchedule, now: datetime) -> list[datetime]:
    """The schedule's fire times from ``next_run_at`` up to ``now``, oldest first."""
    fires, fire = [], schedule.next_run_at
    while fire <= now and len(fires) < CATCHUP_MAX:
        fires.append(fire)
        fire = _next_after(schedule, fire)
    return fires


def _last_status(schedule: CronSchedule) -> str | None:
    """The status of the schedule's last job (None when it has none, or it was deleted)."""
    if not schedule.last_job_id:
        return None
    return Job.objects.filter(pk=schedule.last_job_id).values_list("status", flat=True).first()


def _fire(schedule: CronSchedule, fire: datetime, now: datetime) -> Job | None:
    """Enqueue the job of one fire time (None when skipped: overlap, or too old)."""
    window = timedelta(seconds=conf.get("CRON_CATCHUP_SECONDS"))
    level = logging.INFO
    if fire < now - window:
        reason = f"older than the catch-up window of {window.total_seconds():g}s"
    elif not schedule.allow_overlap and (last := _last_status(schedule)) in UNFINISHED:
        reason = f"job id={schedule.last_job_id} is {last}"
    else:
        key = f"cron:{schedule.pk}:{fire.astimezone(ZoneInfo('UTC')).isoformat()}"
        try:
            return _enqueue(schedule, key)
        except InvalidJobError as exc:  # options stored before a rule tightened
            reason, level = f"its job is refused ({exc}): edit the schedule", logging.ERROR
    schedule.skipped += 1
    schedule.last_skipped_at = now
    logger.log(level, "cron name=%s fire=%s skipped: %s", schedule.name, fire.isoformat(), reason)
    return None


def enqueue_due(now: datetime | None = None) -> list[Job]:
    """Enqueue the jobs of active schedules whose fire times have come.

    Every fire time since ``next_run_at`` gets one job (its idempotency key names the
    schedule and the fire time, so racing workers and a worker that died mid-way
    never double one), as long as it lies within CRON_CATCHUP_SECONDS of now and,
    for a schedule that does not allow overlap, its previous job has finished.
    """
    now = now or dj_timezone.now()
    jobs = []
    with transaction.atomic():
        due = list(
            CronSchedule.objects.select_for_update(skip_locked=True)
            .filter(status=CronStatus.ACTIVE, next_run_at__lte=now)
            .order_by("next_run_at")[:BATCH]
        )
        for schedule in due:
            fires = _missed(schedule, now)
            for fire in fires:
                job = _fire(schedule, fire, now)
                if job is not None and not job.deduplicated:
                    jobs.append(job)
            schedule.next_run_at = _next_after(schedule, max(now, fires[-1]))
            schedule.save()
    return jobs
