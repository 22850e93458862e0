"""The API keys page: every key for the JSON API; create one (its secret is shown once),
revoke one.

The secret is rendered in the response to the creation POST itself, never put in
a URL, a message or the session, so a redirect or a reload cannot show it again.
Each form carries a one-time value: sending the same form twice (a reload of the
creation response) creates nothing the second time.
"""

import logging
import secrets
from datetime import datetime

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from core.api.auth import creators_permissions, key_standing
from core.dashboard.access import actor, staff_action, staff_page
from core.dashboard.forms.apikeys import NewKeyForm
from core.dashboard.redirects import redirect_to, safe_next
from core.models import ApiKey

#: The audit trail of key creation and revocation (job-independent).
logger = logging.getLogger("queueadmin.api")

#: Session key of the one-time values of forms already sent: {value: key prefix}.
SENT_FORMS = "apikeys_sent_forms"
#: How many sent forms are remembered per session.
SENT_FORMS_KEPT = 20
#: Columns the table shows; never the hash.
_ROW_FIELDS = (
    "id",
    "name",
    "prefix",
    "can_write",
    "expires_at",
    "created_at",
    "last_used_at",
    "revoked_at",
    "created_by__id",
    "created_by__username",
    "created_by__is_active",
    "created_by__is_staff",
    "created_by__is_superuser",
)


def _rows(now: datetime) -> list[ApiKey]:
    """Every key, newest first, with its ``state`` for the template: a usable key
    its creator may no longer back is "suspended" (or "limited"), with the reason
    (three queries: the keys, their creators' permissions)."""
    rows = list(
        ApiKey.objects.select_related("created_by")
        .only(*_ROW_FIELDS)
        .order_by("-created_at", "-id")
    )
    held = creators_permissions({key.created_by for key in rows})
    for key in rows:
        key.current_state = key.state(now)
        key.standing_reason = ""
        if key.current_state == "active":
            standing, key.standing_reason = key_standing(key, held)
            key.current_state = standing or key.current_state
    return rows


def _access(key: ApiKey) -> str:
    return "read-write" if key.can_write else "read-only"


def _page(
    request: HttpRequest,
    form: NewKeyForm | None = None,
    *,
    created: ApiKey | None = None,
    secret: str | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    user = request.user
    can_add = user.has_perm("queueadmin.add_apikey")
    if can_add and form is None:
        form = NewKeyForm(user=user)
    context = {
        "keys": _rows(now),
        "form": form if can_add else None,
        "once": secrets.token_urlsafe(16),
        "created": created,
        "secret": secret,
        "api_url": request.build_absolute_uri(reverse("queueadmin_api:jobs")),
        "can_add": can_add,
        "can_change": user.has_perm("queueadmin.change_apikey"),
        "back": reverse("queueadmin:apikeys"),
        "now": now,
    }
    template = "queueadmin/apikeys.html"
    if request.htmx and request.htmx.target == "apikey-table":
        template += "#table"
    response = render(request, template, context, status=status)
    # The page may hold a secret, or a form to make one: keep it out of every cache.
    add_never_cache_headers(response)
    return response


@staff_page("queueadmin.view_apikey")
def apikey_list(request: HttpRequest) -> HttpResponse:
    """Every key, newest first; the form for a new one if the operator may add keys."""
    return _page(request)


def _already_sent(request: HttpRequest, once: str) -> str | None:
    """The prefix of the key created by the form with this one-time value, if any."""
    return request.session.get(SENT_FORMS, {}).get(once) if once else None


def _remember_sent(request: HttpRequest, once: str, key: ApiKey) -> None:
    if not once:
        return
    sent = dict(request.session.get(SENT_FORMS, {}))
    sent[once] = key.prefix
    request.session[SENT_FORMS] = dict(list(sent.items())[-SENT_FORMS_KEPT:])


@staff_action("queueadmin.add_apikey")
def apikey_new(request: HttpRequest) -> HttpResponse:
    """Create a key and show its secret in this response, once."""
    once = request.POST.get("once", "")[:64]
    prefix = _already_sent(request, once)
    if prefix is not None:
        messages.error(
            request,
            f"This form was sent already: key {prefix}… was created then, and its secret "
            "cannot be shown again. Revoke that key if you did not copy it; nothing new "
            "was created.",
        )
        return _page(request, status=409)
    form = NewKeyForm(request.POST, user=request.user)
    if not form.is_valid():
        return _page(request, form)
    data = form.cleaned_data
    key, secret = ApiKey.create(
        data["name"],
        can_write=data["can_write"],
        expires_at=form.expires_at(),
        created_by=request.user,
    )
    _remember_sent(request, once, key)
    logger.info(
        "api key id=%s prefix=%s name=%r (%s, expires %s) created by %s",
        key.pk,
        key.prefix,
        key.name,
        _access(key),
        key.expires_at.isoformat() if key.expires_at else "never",
        actor(request),
    )
    return _page(request, created=key, secret=secret)


@staff_action("queueadmin.change_apikey")
def apikey_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke a key: the API refuses it from now on. Revoking twice changes nothing."""
    key = get_object_or_404(ApiKey.objects.only("id", "name", "prefix", "revoked_at"), pk=pk)
    if key.revoked_at is not None:
        messages.info(request, f"Key {key.name} ({key.prefix}…) was already revoked.")
    else:
        key.revoke()
        logger.info(
            "api key id=%s prefix=%s name=%r revoked by %s",
            key.pk,
            key.prefix,
            key.name,
            actor(request),
        )
        messages.success(
            request, f"Key {key.name} ({key.prefix}…) revoked; the API refuses it from now on."
        )
    return redirect_to(request, safe_next(request, reverse("queueadmin:apikeys")))
