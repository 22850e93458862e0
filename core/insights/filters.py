"""The job search shared by the dashboard's job list and ``GET /api/jobs``: query
parameters in, ``core.jobs.filters.filter_jobs`` keywords out."""

from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone

from core.drivers.rows import TAG_MODES
from core.models import JobStatus
from core.validation import EARLIEST, LATEST

#: Time ranges offered by the filter bar, by their query value.
SINCE = {
    "15m": ("last 15 minutes", timedelta(minutes=15)),
    "1h": ("last hour", timedelta(hours=1)),
    "24h": ("last 24 hours", timedelta(hours=24)),
    "7d": ("last 7 days", timedelta(days=7)),
}


def tag_list(text: str) -> list[str]:
    """Comma-separated tags as a list: trimmed, without blanks or repeats."""
    return list(dict.fromkeys(tag.strip() for tag in text.split(",") if tag.strip()))


class JobFilterForm(forms.Form):
    """The job list's filter bar; every field is optional."""

    status = forms.ChoiceField(required=False, choices=[("", "all"), *JobStatus.choices])
    queue = forms.CharField(required=False, max_length=100)
    job_type = forms.CharField(required=False, max_length=200, label="Job type")
    tags = forms.CharField(
        required=False, max_length=500, help_text="comma-separated", label="Tags"
    )
    tag_mode = forms.ChoiceField(
        required=False,
        choices=[(m, m) for m in ("all", *(m for m in TAG_MODES if m != "all"))],
        label="Tag mode",
    )
    since = forms.ChoiceField(
        required=False,
        choices=[("", "any time")] + [(k, label) for k, (label, _) in SINCE.items()],
        label="Created",
    )
    created_after = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="From"
    )
    created_before = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="To"
    )
    q = forms.CharField(required=False, max_length=255, label="Id or idempotency key")

    def _utc(self, name: str) -> datetime | None:
        # Offsets the database cannot store (PostgreSQL allows at most ±15:59)
        # are written as UTC; a time past year 9999 in UTC is no time at all.
        value = self.cleaned_data.get(name)
        try:
            value = None if value is None else value.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("Out of range.") from None
        if value is not None and not EARLIEST <= value < LATEST:
            raise forms.ValidationError(
                f"Out of range: jobs are from {EARLIEST.year} up to {LATEST.year}."
            )
        return value

    def clean_created_after(self) -> datetime | None:
        return self._utc("created_after")

    def clean_created_before(self) -> datetime | None:
        return self._utc("created_before")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        after, before = data.get("created_after"), data.get("created_before")
        if after and before and after >= before:
            raise forms.ValidationError("“From” must be earlier than “To”.")
        return data

    def filters(self) -> dict[str, Any]:
        """Keyword filters for ``core.jobs.filters.filter_jobs`` (call after is_valid())."""
        data = self.cleaned_data
        filters: dict[str, Any] = {}
        for name in ("status", "queue", "job_type"):
            if data.get(name):
                filters[name] = data[name].strip()
        if data.get("tags"):
            filters["tags"] = tag_list(data["tags"])
            filters["tag_mode"] = data.get("tag_mode") or "all"
        if data.get("since"):
            filters["created_after"] = timezone.now() - SINCE[data["since"]][1]
        if data.get("created_after"):
            filters["created_after"] = max(
                data["created_after"], filters.get("created_after", data["created_after"])
            )
        if data.get("created_before"):
            filters["created_before"] = data["created_before"]
        return filters

    def search(self) -> Q | None:
        """The search box as a filter: an id or an idempotency key."""
        text = (self.cleaned_data.get("q") or "").strip().removeprefix("#")
        if not text:
            return None
        if text.isascii() and text.isdigit() and int(text) < 2**63:
            return Q(id=int(text)) | Q(idempotency_key=text)
        return Q(idempotency_key=text)
