"""The job search shared by the dashboard's job list and ``GET /api/jobs``: query
parameters in, ``core.jobs.filters.filter_jobs`` keywords out."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.db.models import Q
from django.utils import timezone

from core.drivers.rows import TAG_MODES
from core.exceptions import InvalidJobError
from core.insights import search as terms
from core.jobs import contents, redaction
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
    q = forms.CharField(
        required=False, max_length=1000, label="Search", help_text=terms.__doc__.strip()
    )
    payload = forms.CharField(
        required=False,
        max_length=contents.MAX_JSON,
        label="Payload",
        help_text='a JSON object the payload contains, e.g. {"customer": 42}',
    )
    output = forms.CharField(
        required=False, max_length=contents.MAX_JSON, help_text="a JSON object the output contains"
    )
    error = forms.CharField(
        required=False, max_length=contents.MAX_PATH, help_text="text in the latest error"
    )
    worker = forms.CharField(
        required=False, max_length=200, help_text="the processing jobs of this worker"
    )

    #: Query parameters read beside the fields: ``errors`` (a JSON object one recorded
    #: error contains; no field, since ``form.errors`` must stay the form's errors).
    EXTRA_PARAMS = ("errors",)
    #: Query parameters searching key paths: ``payload.customer.id=42`` and the like.
    PATH_PREFIXES = tuple(f"{column}." for column in contents.COLUMNS)

    @classmethod
    def is_path_param(cls, name: str) -> bool:
        """Whether ``name`` is a key-path parameter (``payload.customer.id``)."""
        return name.startswith(cls.PATH_PREFIXES)

    def path_params(self) -> list[tuple[str, str]]:
        """The key-path parameters given, in order: (name, text)."""
        return [(n, self.data.get(n, "")) for n in self.data if self.is_path_param(n)]

    def inside(self) -> dict[str, Any]:
        """The filters inside jobs (payload, output, errors, error, worker), checked
        (call after is_valid())."""
        return getattr(self, "_inside", {})

    def chips(self) -> list[dict[str, str]]:
        """Active filters with no visible field, each with the query that drops it."""
        hidden = [(n, self.data.get(n, "")) for n in ("output", "errors", "error", "worker")]
        chips = []
        for name, text in [*hidden, *self.path_params()]:
            if not text:
                continue
            rest = [
                (k, v)
                for k in self.data
                if k not in (name, "before", "after")
                for v in self.data.getlist(k)
            ]
            chips.append({"name": name, "value": text, "remove": urlencode(rest)})
        return chips

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
        self._inside = self._clean_inside(data)
        return data

    def _clean_inside(self, data: dict[str, Any]) -> dict[str, Any]:
        """The fields, key-path parameters and search terms that look inside jobs, as
        checked ``filter_jobs`` keywords; each error goes on the field it came from
        (key-path parameters have none: theirs name the parameter)."""
        found: dict[str, Any] = {}
        for column in contents.COLUMNS:
            field = column if column in self.fields else None
            text = (data.get(column) if field else self.data.get(column)) or ""
            if not text.strip():
                continue
            prefix = "" if field else f"{column}: "
            if len(text) > contents.MAX_JSON:
                self.add_error(field, f"{prefix}Longer than {contents.MAX_JSON} characters.")
                continue
            try:
                value = json.loads(text)
            except (ValueError, RecursionError):
                self.add_error(field, prefix + 'Not JSON: write an object such as {"a": 42}.')
                continue
            if self._checked(field, contents.containment, column, value):
                found[column] = [value]
        for name, text in self.path_params():
            column, _, path = name.partition(".")
            value = contents.search_value(text)
            if self._checked(None, contents.paths_object, name, {path: value}):
                found.setdefault(f"{column}_has", {})[path] = value
        for name in ("error", "worker"):
            text = (data.get(name) or "").strip()
            if text and (name != "error" or self._checked(name, contents.error_text, text)):
                found[name] = text
        if terms.is_structured(data.get("q") or ""):
            self._checked("q", self._merge_search, found, data["q"])
        for column in contents.COLUMNS:
            has = f"{column}_has"
            if has in found and not self._checked(None, contents.paths_object, has, found[has]):
                del found[has]
        for column in ("payload", "output"):
            key = redaction.searched_redacted(column, found)
            if key:
                self.add_error(
                    None, f"{column}: {key!r} is redacted (REDACT) and cannot be searched"
                )
                found.pop(column, None)
                found.pop(f"{column}_has", None)
        return found

    def _checked(self, field: str | None, check, *args) -> bool:
        """Run ``check(*args)``; an InvalidJobError becomes an error on ``field``."""
        try:
            check(*args)
        except InvalidJobError as exc:
            self.add_error(field, str(exc))
            return False
        return True

    @staticmethod
    def _merge_search(found: dict[str, Any], text: str) -> None:
        """Add the search box's terms to ``found``, checking them on the way."""
        for name, value in terms.parse(text).items():
            if name in contents.COLUMNS:
                for one in value:
                    found.setdefault(name, []).extend(contents.containment(name, one))
            elif name.endswith("_has"):
                given = found.get(name, {})
                for path in sorted(set(given) & set(value)):
                    if given[path] != value[path] or type(given[path]) is not type(value[path]):
                        column = name.removesuffix("_has")
                        raise InvalidJobError(f"{column}.{path}: given twice, with two values")
                merged = {**given, **value}
                contents.paths_object(name, merged)
                found[name] = merged
            else:
                if name == "error":
                    contents.error_text(value)
                if found.get(name, value) != value:
                    raise InvalidJobError(f"{name}: given both in the search and as a filter")
                found[name] = value

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
        filters.update(self.inside())
        return filters

    def search(self) -> Q | None:
        """The search box as a filter when it holds an id or an idempotency key (its
        search terms are in ``filters()``)."""
        text = (self.cleaned_data.get("q") or "").strip().removeprefix("#")
        if not text or terms.is_structured(text):
            return None
        if text.isascii() and text.isdigit() and int(text) < 2**63:
            return Q(id=int(text)) | Q(idempotency_key=text)
        return Q(idempotency_key=text)
