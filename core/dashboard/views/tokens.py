"""The tokens page: the wait tokens jobs are parked on; complete or expire them."""

from datetime import datetime

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from core import conf
from core.dashboard.access import actor, staff_action, staff_page
from core.dashboard.forms.fields import NotJSON, parse_json_text
from core.dashboard.redirects import redirect_to, safe_next
from core.durable import tokens
from core.exceptions import InvalidJobError, TokenNotFound
from core.insights.humanize import duration
from core.insights.paging import keyset_page
from core.models import Job, JobStatus, TokenStatus, WaitToken

#: The status filter's choices by query value, waiting first (the default).
STATUS_FILTERS = {
    "waiting": "waiting",
    "completed": "completed",
    "timed_out": "timed out",
    "all": "all",
}
#: Words for a finished token's status in messages.
_FINISHED = {TokenStatus.COMPLETED: "completed", TokenStatus.TIMED_OUT: "timed out"}
#: Columns a row needs: the job's type and status, never its payload or output.
_ROW_FIELDS = (
    "id",
    "status",
    "output",
    "timeout_at",
    "tags",
    "created_at",
    "completed_at",
    "job__id",
    "job__job_type",
    "job__status",
)


def _rows():
    """Tokens with the few job columns a row shows."""
    return WaitToken.objects.select_related("job").only(*_ROW_FIELDS)


def countdown(token: WaitToken, now: datetime) -> str:
    """A waiting token's time left ("in 4m 10s", "no timeout", "overdue"); "-" once finished."""
    if token.status != TokenStatus.WAITING:
        return "-"
    if token.timeout_at is None:
        return "no timeout"
    left = (token.timeout_at - now).total_seconds()
    return f"in {duration(left)}" if left > 0 else "overdue"


def annotate(rows: list[WaitToken], now: datetime) -> list[WaitToken]:
    """Give each token its ``countdown`` text and an ``overdue`` flag for the templates."""
    for token in rows:
        token.countdown = countdown(token, now)
        token.overdue = token.countdown == "overdue"
    return rows


def short_id(token_id: str) -> str:
    """The first characters of a token id, enough to tell tokens apart on a page."""
    return f"{token_id[:8]}…"


def _status(request: HttpRequest) -> str:
    value = request.GET.get("status", "")
    return value if value in STATUS_FILTERS else "waiting"


def _cursor(request: HttpRequest) -> tuple[datetime, str] | None:
    """The ``before`` cursor ("<created_at ISO>|<id>"), or None when absent or bad."""
    at, sep, token_id = request.GET.get("before", "").partition("|")
    if not sep or not token_id:
        return None
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return None
    return (moment, token_id) if timezone.is_aware(moment) else None


def _page(status: str, before: tuple[datetime, str] | None, size: int):
    """One keyset page, newest first: (tokens, the cursor of the next older page)."""
    qs = _rows()
    if status != "all":
        qs = qs.filter(status=status)
    page, more = keyset_page(qs, ["-created_at", "-id"], before, size)
    older = None
    if more:
        last = page[-1]
        older = f"{last.created_at.isoformat()}|{last.id}"
    return page, older


@staff_page("queueadmin.view_waittoken")
def token_list(request: HttpRequest) -> HttpResponse:
    """Wait tokens of one status (waiting by default), a keyset page at a time."""
    status = _status(request)
    cursor = _cursor(request)
    now = timezone.now()
    rows, older = _page(status, cursor, conf.get("DASHBOARD_PAGE_SIZE"))
    context = {
        "tokens": annotate(rows, now),
        "older": older,
        "paged": cursor is not None,
        "filters": STATUS_FILTERS.items(),
        "current_status": status,
        "current_label": STATUS_FILTERS[status],
        "can_change": request.user.has_perm("queueadmin.change_waittoken"),
        "back": request.get_full_path(),
        "now": now,
    }
    template = "queueadmin/tokens.html"
    if request.htmx and request.htmx.target == "token-table":
        template += "#table"
    return render(request, template, context)


def _done(token: WaitToken, action: str) -> str:
    """What an operator's completion or expiry did, to its job too."""
    verb = "completed" if action == "complete" else "expired"
    status = Job.objects.filter(pk=token.job_id).values_list("status", flat=True).first()
    if status == JobStatus.PENDING:
        woke = "wakes up"
    elif status:
        woke = f"is {status}"  # it was not waiting for this token (cancelled, say)
    else:
        woke = "no longer exists"
    return f"Token {short_id(token.id)} {verb}; job #{token.job_id} {woke}."


def _refused(token_id: str, error: str) -> str:
    """``error`` for a token that exists; 404 for one that does not."""
    if not WaitToken.objects.filter(pk=token_id).exists():
        raise Http404("no such token")
    return error


def _act(request: HttpRequest, token_id: str, action: str) -> HttpResponse:
    """Complete or expire one token; htmx rows get the updated row back."""
    back = safe_next(request, reverse("queueadmin:tokens"))
    error = notice = draft = None
    try:
        if action == "complete":
            draft = request.POST.get("data", "")
            done = tokens.complete_token(token_id, parse_json_text(draft), actor=actor(request))
        else:
            done = tokens.expire_token(token_id, actor=actor(request))
    except TokenNotFound:
        raise Http404("no such token") from None
    except NotJSON as exc:
        error = _refused(token_id, f"{exc} Nothing changed.")
    except (InvalidJobError, RecursionError):
        error = _refused(
            token_id, "The data cannot be stored (nested too deeply?). Nothing changed."
        )
    else:
        draft = None
        if done.completed:
            notice = _done(done.token, action)
        else:
            finished = _FINISHED[done.token.status]
            error = f"Token {short_id(done.token.id)} is already {finished} — nothing changed."
    if request.htmx and request.POST.get("row"):
        token = _rows().filter(pk=token_id).first()
        if token is None:  # deleted (with its job) a moment ago
            raise Http404("no such token")
        context = {
            "token": annotate([token], timezone.now())[0],
            "can_change": True,
            "row_error": error,
            "row_notice": notice,
            "draft": draft,
            "back": back,
        }
        return render(request, "queueadmin/tokens.html#row", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect_to(request, back)


@staff_action("queueadmin.change_waittoken")
def token_complete(request: HttpRequest, token_id: str) -> HttpResponse:
    """Complete a waiting token with the JSON typed in its form (empty: null)."""
    return _act(request, token_id, "complete")


@staff_action("queueadmin.change_waittoken")
def token_expire(request: HttpRequest, token_id: str) -> HttpResponse:
    """Time a waiting token out now; its job wakes with ok=False."""
    return _act(request, token_id, "expire")
