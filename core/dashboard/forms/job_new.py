"""The "New job" form: a job type, a JSON payload and every option of ``core.queue.enqueue``.

The form checks what a browser can get wrong (numbers, JSON with its line and
column, ids); ``enqueue`` stays the judge of the rest, and its InvalidJobError
("field: what is wrong") comes back beside the field via ``add_queue_error``.
Empty option boxes are not passed, so the queue's settings apply.
"""

from typing import Any

from django import forms

from core import conf
from core.dashboard.forms.fields import DurationField, JSONTextField, TagsField
from core.jobs.spec import PRIORITY_MAX, PRIORITY_MIN
from core.models import RetryBackoff


def _seconds(label: str, help_text: str, **kwargs: Any) -> DurationField:
    return DurationField(label=label, help_text=help_text, **kwargs)


class JobIdsField(forms.CharField):
    """Comma-separated job ids (``#`` allowed); cleans to a list of ints."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 2000)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> list[int]:
        text = super().clean(value)
        ids = []
        for part in text.replace(" ", ",").split(","):
            part = part.strip().lstrip("#")
            if not part:
                continue
            if not (part.isascii() and part.isdigit()) or not 0 < int(part) < 2**63:
                raise forms.ValidationError(f"Not a job id: {part!r}.")
            ids.append(int(part))
        return ids


class NewJobForm(forms.Form):
    """What ``core.queue.enqueue`` takes, as an operator types it."""

    job_type = forms.CharField(
        max_length=200,
        label="Job type",
        help_text="a registered handler, or any name a worker knows",
        widget=forms.TextInput(
            attrs={"list": "job-types", "spellcheck": "false", "autocomplete": "off"}
        ),
    )
    payload = JSONTextField(rows=10, help_text="JSON; empty sends null")
    queue = forms.CharField(required=False, max_length=100)
    channel = forms.CharField(
        required=False, max_length=200, help_text="optional; channels share a queue fairly"
    )
    priority = forms.IntegerField(
        required=False,
        min_value=PRIORITY_MIN,
        max_value=PRIORITY_MAX,
        help_text=f"{PRIORITY_MIN}..{PRIORITY_MAX}, higher runs first; empty: 0",
    )
    run_at = forms.DateTimeField(
        required=False,
        label="Run at",
        help_text="empty: now",
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"
        ),
    )
    delay = _seconds("Delay", "from now (seconds, or e.g. 15m, 2h); instead of Run at")
    max_attempts = forms.IntegerField(
        required=False, min_value=1, max_value=1000, label="Max attempts"
    )
    retry_delay = _seconds("Retry delay", "before a retry (seconds, or e.g. 5m)")
    retry_backoff = forms.ChoiceField(
        required=False,
        label="Retry backoff",
        choices=[("", "default"), *RetryBackoff.choices],
    )
    retry_delay_max = _seconds("Retry delay max", "cap on the backoff (seconds, or e.g. 1h)")
    timeout = _seconds("Timeout", "how long a run may take (seconds, or e.g. 15m); empty: no limit")
    force_kill_on_timeout = forms.BooleanField(
        required=False,
        label="Force kill on timeout",
        help_text="run isolated and killed at the timeout",
    )
    lock_timeout = _seconds(
        "Lock timeout", "how long each lease lasts (e.g. 2m); empty: the worker's lease"
    )
    tags = TagsField()
    idempotency_key = forms.CharField(
        required=False,
        max_length=255,
        label="Idempotency key",
        help_text="unique: a second job with this key is not added",
    )
    depends_on = JobIdsField(
        label="Depends on", help_text="comma-separated job ids; runs once they completed"
    )
    dead_letter_job_type = forms.CharField(
        required=False,
        max_length=200,
        label="Dead-letter job type",
        help_text="enqueued with this job's details when it fails for good",
        widget=forms.TextInput(attrs={"list": "job-types", "autocomplete": "off"}),
    )

    #: The form's sections on the page: a title and its fields.
    SECTIONS = (
        ("Job", ("job_type", "payload")),
        ("When and where", ("queue", "channel", "priority", "run_at", "delay")),
        (
            "Retries and timeout",
            (
                "max_attempts",
                "retry_delay",
                "retry_backoff",
                "retry_delay_max",
                "timeout",
                "force_kill_on_timeout",
                "lock_timeout",
            ),
        ),
        ("Identity and links", ("tags", "idempotency_key", "depends_on", "dead_letter_job_type")),
    )

    def __init__(self, data=None, **kwargs: Any) -> None:
        super().__init__(data=data, **kwargs)
        # The settings' defaults as placeholders: what an empty box means.
        defaults = {
            "queue": conf.get("DEFAULT_QUEUE"),
            "max_attempts": conf.get("DEFAULT_MAX_ATTEMPTS"),
            "retry_delay": conf.get("DEFAULT_RETRY_DELAY"),
            "retry_delay_max": conf.get("DEFAULT_RETRY_DELAY_MAX"),
        }
        for name, value in defaults.items():
            self.fields[name].widget.attrs["placeholder"] = str(value)
        self.fields["retry_backoff"].choices = [
            ("", f"default ({conf.get('DEFAULT_RETRY_BACKOFF')})"),
            *RetryBackoff.choices,
        ]

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The bound fields grouped as ``SECTIONS`` says, for the template."""
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("run_at") is not None and data.get("delay") is not None:
            self.add_error("delay", "Give Run at or Delay, not both.")
        return data

    def arguments(self) -> dict[str, Any]:
        """Keywords for ``core.queue.enqueue``: job type, payload and the options given."""
        data = self.cleaned_data
        arguments = {"job_type": data["job_type"].strip(), "payload": data["payload"]}
        for name in self.fields:
            if name in arguments:
                continue
            value = data.get(name)
            if isinstance(value, str):
                value = value.strip()
            if value in (None, "", []) or (name == "force_kill_on_timeout" and not value):
                continue
            arguments[name] = value
        return arguments

    def add_queue_error(self, message: str) -> None:
        """Show an InvalidJobError ("field: what is wrong") beside its field, else on top."""
        field, sep, rest = message.partition(": ")
        if sep and field in self.fields and rest:
            self.add_error(field, rest[:1].upper() + rest[1:])
        else:
            self.add_error(None, message[:1].upper() + message[1:])
