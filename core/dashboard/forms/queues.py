"""Forms of the Queues page: a queue's limits, a channel's policy.

The forms turn what a browser sends into numbers; ``core.scheduling.policies``' validators
judge them (the same checks as the API and the admin), and their messages come
back beside the field.
"""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from core.dashboard.forms.fields import DurationField
from core.exceptions import InvalidPolicyError
from core.models import ChannelPolicy, Queue
from core.scheduling import policies


def api_message(exc: InvalidPolicyError) -> str:
    """The API's message without its "field: " prefix, capitalised."""
    field, sep, rest = str(exc).partition(": ")
    text = rest if sep and field.isidentifier() else str(exc)
    return text[:1].upper() + text[1:]


def _check(check, *args: Any) -> Any:
    try:
        return check(*args)
    except InvalidPolicyError as exc:
        raise ValidationError(api_message(exc)) from None


#: Whole-number limits: the browser's words for what the API refuses.
LIMIT_ERRORS = {
    "invalid": "Enter a whole number, or leave empty for no limit.",
    "min_value": "Must be at least 1; leave empty for no limit.",
}


def _limit(label: str, help_text: str, highest: int = policies.MAX_LIMIT) -> forms.IntegerField:
    return forms.IntegerField(
        required=False,
        min_value=1,
        max_value=highest,
        label=label,
        help_text=help_text,
        error_messages={**LIMIT_ERRORS, "max_value": f"Must be at most {highest:,}."},
        widget=_number("no limit"),
    )


def _number(placeholder: str, step: str = "1") -> forms.NumberInput:
    attrs = {"placeholder": placeholder, "step": step}
    return forms.NumberInput(attrs={**attrs, "min": "1"} if step == "1" else attrs)


class QueueLimitsForm(forms.Form):
    """A queue's concurrency and rate limits; an empty limit means none."""

    max_concurrency = _limit(
        "Max concurrency", "jobs of the queue running at once, across all workers; empty: no limit"
    )
    rate_limit = _limit(
        "Rate limit",
        f"starts allowed per period, at most {policies.MAX_RATE_LIMIT:,} (for more, shorten "
        "the period); empty: no limit",
        policies.MAX_RATE_LIMIT,
    )
    rate_period = DurationField(
        required=True,
        label="Period (seconds)",
        help_text=f"the rate limit's sliding window (seconds, or e.g. 1m): over 0, at most "
        f"{policies.MAX_SECONDS:g}",
        placeholder="1",
    )

    def __init__(self, name: str, row: Queue | None, *args: Any, **kwargs: Any) -> None:
        self.name, self.row = name, row
        kwargs.setdefault(
            "initial",
            {
                "max_concurrency": row.max_concurrency if row else None,
                "rate_limit": row.rate_limit if row else None,
                "rate_period": row.rate_period if row else 1.0,
            },
        )
        kwargs.setdefault("auto_id", "limits-%s")  # unique beside the channel form
        super().__init__(*args, **kwargs)

    def clean_max_concurrency(self) -> int | None:
        value = self.cleaned_data.get("max_concurrency")
        return _check(policies.limit_value, "max_concurrency", value)

    def clean_rate_limit(self) -> int | None:
        return _check(policies.limit_value, "rate_limit", self.cleaned_data.get("rate_limit"))

    def clean_rate_period(self) -> float:
        return _check(policies.seconds_value, "rate_period", self.cleaned_data.get("rate_period"))

    def changes(self) -> dict[str, Any]:
        """The fields whose value differs from the queue's (all of them without a row)."""
        data = {field: self.cleaned_data[field] for field in policies.QUEUE_FIELDS}
        if self.row is None:
            unlimited = data["max_concurrency"] is None and data["rate_limit"] is None
            return {} if unlimited and data["rate_period"] == 1.0 else data
        return {k: v for k, v in data.items() if getattr(self.row, k) != v}

    def add_api_error(self, exc: InvalidPolicyError) -> None:
        field = str(exc).partition(": ")[0]
        self.add_error(field if field in self.fields else None, api_message(exc))


class ChannelPolicyForm(forms.Form):
    """A channel's concurrency limit and release interval (at least one of the two)."""

    name = forms.CharField(
        max_length=ChannelPolicy._meta.get_field("name").max_length,
        label="Channel",
        help_text="as jobs name it, e.g. customer-42",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    max_concurrency = _limit(
        "Max concurrency", "jobs of the channel running at once; empty: no limit"
    )
    release_interval = DurationField(
        label="Release interval (seconds)",
        help_text="at least this long between two starts (seconds, or e.g. 5m); empty: none",
        placeholder="none",
    )

    def __init__(self, row: ChannelPolicy | None, *args: Any, **kwargs: Any) -> None:
        self.row = row
        if row is not None:
            kwargs.setdefault(
                "initial",
                {"max_concurrency": row.max_concurrency, "release_interval": row.release_interval},
            )
        kwargs.setdefault("auto_id", "channel-%s")  # unique beside the limits form
        super().__init__(*args, **kwargs)
        if row is not None:
            del self.fields["name"]  # the name is the key: edit another channel instead

    def clean_name(self) -> str:
        return _check(policies.channel_name, self.cleaned_data.get("name"))

    def clean_max_concurrency(self) -> int | None:
        value = self.cleaned_data.get("max_concurrency")
        return _check(policies.limit_value, "max_concurrency", value)

    def clean_release_interval(self) -> float | None:
        value = self.cleaned_data.get("release_interval")
        return _check(policies.optional_seconds, "release_interval", value)

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors:
            try:
                policies.channel_fields(data.get("max_concurrency"), data.get("release_interval"))
            except InvalidPolicyError:
                raise ValidationError(
                    "Set a max concurrency, a release interval or both; "
                    "to remove the channel's policy, clear it."
                ) from None
        return data

    def add_api_error(self, exc: InvalidPolicyError) -> None:
        field = str(exc).partition(": ")[0]
        self.add_error(field if field in self.fields else None, api_message(exc))
