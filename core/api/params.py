"""Reading the API's inputs: query strings, path ids and JSON bodies, with 400s for bad ones."""

import json
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.api.responses import ApiError
from core.insights.filters import JobFilterForm
from core.validation import storable

#: Largest id a job can have (a signed 64-bit integer).
MAX_ID = 2**63 - 1
#: Jobs per page of GET /api/jobs: default and maximum.
PAGE_SIZE, MAX_PAGE_SIZE = 50, 500

LIST_PARAMS = (*JobFilterForm.base_fields, *JobFilterForm.EXTRA_PARAMS, "limit", "cursor")


def job_id(pk: int) -> int:
    """A path's job id; ids past the largest possible one name no job."""
    if pk > MAX_ID:
        raise ApiError(404, f"no job with id {pk}")
    return pk


def _positive_int(name: str, text: str, high: int) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= high:
        raise ApiError(400, f"{name}: must be an integer from 1 to {high}, got {text!r}")
    return int(text)


def list_query(request: HttpRequest) -> tuple[JobFilterForm, int, int | None]:
    """The filter form, page size and cursor of GET /api/jobs."""
    unknown = sorted(
        name
        for name in request.GET
        if name not in LIST_PARAMS and not JobFilterForm.is_path_param(name)
    )
    if unknown:
        raise ApiError(
            400,
            f"unknown parameter {', '.join(unknown)}; parameters: {', '.join(LIST_PARAMS)}, "
            "and key paths such as payload.customer.id",
        )
    repeated = sorted(name for name in request.GET if len(request.GET.getlist(name)) > 1)
    if repeated:
        raise ApiError(400, f"give {', '.join(repeated)} once")
    empty = sorted(name for name, value in request.GET.items() if not value.strip())
    if empty:
        raise ApiError(400, f"{', '.join(empty)}: give a value or leave the parameter out")
    form = JobFilterForm(request.GET)
    if not form.is_valid():
        fields = {name: [str(e) for e in errors] for name, errors in form.errors.items()}
        message = "; ".join(f"{name}: {' '.join(errs)}" for name, errs in fields.items())
        raise ApiError(400, f"invalid filter: {message}", fields=fields)
    limit = request.GET.get("limit")
    cursor = request.GET.get("cursor")
    return (
        form,
        PAGE_SIZE if limit is None else _positive_int("limit", limit, MAX_PAGE_SIZE),
        None if cursor is None else _positive_int("cursor", cursor, MAX_ID),
    )


_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


def _empty_form(request: HttpRequest) -> bool:
    try:
        return not request.POST and not request.FILES
    except MultiPartParserError as exc:
        raise ApiError(400, f"malformed form body: {exc}") from None


def json_body(request: HttpRequest, *, required: bool) -> dict[str, Any]:
    """The request's JSON object (``{}`` for an empty optional body)."""
    content_type = request.content_type or ""
    body = request.body
    if not required and content_type in _FORMS and _empty_form(request):
        body = b""  # an empty form, as some clients send for a bare POST
    if not body.strip():
        if required:
            raise ApiError(400, "the request needs a JSON object body")
        return {}
    if content_type and content_type != "application/json":
        raise ApiError(415, f"send JSON with Content-Type: application/json, not {content_type}")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(400, "the body's JSON is nested too deeply") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"the body must be a JSON object, got {type(data).__name__}")
    if not storable(data):
        raise ApiError(
            400, "strings may not contain NUL (\\u0000) characters or unpaired surrogates"
        )
    return data


def aware_datetime(name: str, value: Any) -> datetime:
    """An ISO 8601 date-time with a UTC offset (e.g. 2026-11-26T18:00:00Z)."""
    if not isinstance(value, str):
        raise ApiError(400, f"{name}: must be an ISO 8601 date-time string, got {value!r}")
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ApiError(400, f"{name}: not an ISO 8601 date-time: {value!r}")
    if timezone.is_naive(parsed):
        raise ApiError(400, f"{name}: give a UTC offset (e.g. Z or +01:00): {value!r}")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ApiError(400, f"{name}: out of range: {value!r}") from None
