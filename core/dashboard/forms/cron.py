"""Forms of the Cron page: create a schedule, edit one.

The forms check what a browser can get wrong (numbers, JSON, lengths); the
cron API checks the rest (expression, time zone, job template, unique name)
and its errors come back here as field errors via ``add_api_error``.
"""

import json
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import CroniterError, croniter
from django import forms
from django.utils import timezone as dj_timezone

from core import conf
from core.dashboard.forms.fields import DurationField, JSONTextField, TagsField
from core.jobs.redaction import redact
from core.models import CronSchedule
from core.scheduling import cron

#: Form fields that are enqueue options of the schedule's job (stored in ``options``).
OPTION_FIELDS = ("queue", "priority", "tags", "timeout", "max_attempts")
#: Form fields edit_cron takes by their own name.
SCHEDULE_FIELDS = ("expression", "timezone", "job_type", "payload", "allow_overlap")


def zone_names() -> list[str]:
    """Every IANA zone name this system knows, sorted (for the form's suggestions)."""
    return sorted(available_timezones())


#: What the page says of an expression croniter accepts but no date matches (Feb 30).
NEVER_FIRES = "This expression never fires (no date matches it)."


def expression_problem(text: str) -> str | None:
    """Why ``core.scheduling.cron`` would refuse the expression, or None; the API stays the judge
    (this lets the form report every bad field at once, and the preview explain)."""
    if not croniter.is_valid(text):
        return (
            f"Not a valid cron expression: {text!r} "
            "(five fields: minute hour day-of-month month day-of-week)."
        )
    if len(text.split()) != 5:
        return f"Needs exactly five fields, got {text!r}."
    try:
        cron.fire_times(text, "UTC", dj_timezone.now(), 1)
    except (CroniterError, ValueError, KeyError):
        return NEVER_FIRES
    return None


def zone_problem(name: str) -> str | None:
    """Why ``name`` is not a time zone, or None."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"Unknown time zone {name!r}."
    return None


class ScheduleForm(forms.Form):
    """A schedule's expression, time zone and job template (the edit form)."""

    expression = forms.CharField(
        max_length=200,
        help_text="five fields: minute hour day-of-month month day-of-week",
        widget=forms.TextInput(
            attrs={"spellcheck": "false", "autocomplete": "off", "placeholder": "*/5 * * * *"}
        ),
    )
    timezone = forms.CharField(
        max_length=64,
        label="Time zone",
        help_text="an IANA name such as Europe/London",
        widget=forms.TextInput(
            attrs={"list": "cron-zones", "spellcheck": "false", "autocomplete": "off"}
        ),
    )
    job_type = forms.CharField(max_length=200, label="Job type")
    payload = JSONTextField(rows=6, help_text="JSON; empty sends null")
    queue = forms.CharField(max_length=100)
    priority = forms.IntegerField(min_value=-100, max_value=100)
    tags = TagsField()
    timeout = DurationField(
        help_text="how long a run may take (seconds, or e.g. 15m); empty: no limit",
        label="Timeout",
    )
    max_attempts = forms.IntegerField(min_value=1, max_value=1000, label="Max attempts")
    allow_overlap = forms.BooleanField(
        required=False,
        label="Allow overlap",
        help_text="unticked: a fire time is skipped while the previous job is unfinished",
    )

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The initial values of a new schedule (the queue's settings)."""
        return {
            "timezone": "UTC",
            "queue": conf.get("DEFAULT_QUEUE"),
            "priority": 0,
            "max_attempts": conf.get("DEFAULT_MAX_ATTEMPTS"),
            "allow_overlap": False,
        }

    @classmethod
    def for_schedule(cls, schedule: CronSchedule, data=None) -> "ScheduleForm":
        """The form filled with the schedule's current values."""
        options = schedule.options or {}
        initial = cls.defaults()
        initial.update(
            {
                "expression": schedule.expression,
                "timezone": schedule.timezone,
                "job_type": schedule.job_type,
                "payload": (
                    ""
                    if schedule.payload is None
                    # Shown redacted; a kept mask keeps the stored value (cron_edit).
                    else json.dumps(redact(schedule.payload), indent=2, ensure_ascii=False)
                ),
                "tags": ", ".join(options.get("tags") or []),
                "timeout": options.get("timeout"),
                "allow_overlap": schedule.allow_overlap,
            }
        )
        for name in ("queue", "priority", "max_attempts"):
            if options.get(name) is not None:
                initial[name] = options[name]
        return cls(data=data, initial=initial)

    def clean_expression(self) -> str:
        text = " ".join(self.cleaned_data["expression"].split())
        problem = expression_problem(text)
        if problem:
            raise forms.ValidationError(problem)
        return text

    def clean_timezone(self) -> str:
        name = self.cleaned_data["timezone"]
        problem = zone_problem(name)
        if problem:
            raise forms.ValidationError(problem)
        return name

    def changes(self) -> dict[str, Any]:
        """The values the operator changed, as ``core.scheduling.cron.edit_cron`` keywords."""
        return {name: self.cleaned_data[name] for name in self.changed_data}

    def add_api_error(self, message: str) -> None:
        """Show an InvalidScheduleError ("field: what is wrong") beside its field."""
        field, sep, rest = message.partition(": ")
        if sep and field in self.fields and rest:
            self.add_error(field, rest[:1].upper() + rest[1:])
        else:
            self.add_error(None, message[:1].upper() + message[1:])


class NewScheduleForm(ScheduleForm):
    """A new schedule: its unique name, then the fields of the edit form."""

    name = forms.CharField(max_length=200, help_text="unique; fixed once created")

    field_order = ("name",)

    def __init__(self, data=None, **kwargs) -> None:
        kwargs.setdefault("initial", self.defaults())
        super().__init__(data=data, **kwargs)

    def arguments(self) -> dict[str, Any]:
        """Keywords for ``core.scheduling.cron.add_cron``: the schedule, and the job options that
        differ from the defaults (the others follow the settings)."""
        data = self.cleaned_data
        arguments = {
            "name": data["name"],
            "expression": data["expression"],
            "job_type": data["job_type"],
            "payload": data["payload"],
            "timezone": data["timezone"],
            "allow_overlap": data["allow_overlap"],
        }
        for name in OPTION_FIELDS:
            if name in self.changed_data and data[name] not in (None, []):
                arguments[name] = data[name]
        return arguments
