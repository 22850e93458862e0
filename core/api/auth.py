"""Who is calling the API: an API key (``Authorization: Bearer …``) or a staff session."""

from dataclasses import dataclass
from datetime import timedelta

from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone

from core.api.responses import ApiError
from core.models import ApiKey

#: last_used_at is written at most this often per key, not on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="queueadmin"'}

#: What a read-write key may do, as the permissions a session would need for it:
#: enqueue, retry/cancel, complete tokens. Only a user holding all of them may
#: create a read-write key (or make a key read-write), so a key never does more
#: than its creator may. Superusers hold them all.
WRITE_PERMISSIONS = ("queueadmin.add_job", "queueadmin.change_job", "queueadmin.change_waittoken")


def and_words(words: list[str] | tuple[str, ...]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return " and ".join(filter(None, (", ".join(words[:-1]), words[-1])))


def missing_write_permissions(user) -> list[str]:
    """The WRITE_PERMISSIONS ``user`` lacks (empty: they may create read-write keys)."""
    return [permission for permission in WRITE_PERMISSIONS if not user.has_perm(permission)]


def write_permissions_error(missing: list[str]) -> str:
    """Why a user lacking ``missing`` may not create a read-write key (for forms)."""
    return (
        f"Only a user holding {and_words(WRITE_PERMISSIONS)} may create a read-write key (it may "
        f"enqueue, retry and cancel jobs and complete tokens); you lack {and_words(missing)}. "
        "Create a read-only key, or ask an administrator for these permissions."
    )


@dataclass(frozen=True)
class Caller:
    """An authenticated caller; ``actor`` is what job events record."""

    actor: str
    key: ApiKey | None = None


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


def creator_problem(creator) -> str | None:
    """Why every key ``creator`` made is suspended ("creator inactive", "creator not
    staff"), or None. Keys made by code (no creator) are never suspended."""
    if creator is None:
        return None
    if not creator.is_active:
        return "creator inactive"
    if not creator.is_staff:
        return "creator not staff"
    return None


#: What every call of a key needs of its creator, reading included.
READ_PERMISSION = "queueadmin.view_job"


def creators_permissions(creators) -> dict[int, set[str]]:
    """The ``queueadmin.*`` permissions each of ``creators`` holds (directly or by a
    group), by user id, in two queries however many there are: for lists of keys
    (a request checks its one creator with has_perm). Superusers need no entry."""
    from django.contrib.auth.models import Permission

    ids = {user.pk for user in creators if user is not None and not user.is_superuser}
    held: dict[int, set[str]] = {pk: set() for pk in ids}
    if ids:
        ours = Permission.objects.filter(content_type__app_label="queueadmin")
        for field in ("user", "group__user"):
            rows = ours.filter(**{f"{field}__in": ids}).values_list(field, "codename")
            for pk, codename in rows:
                held[pk].add(f"queueadmin.{codename}")
    return held


def key_standing(key: ApiKey, held: dict[int, set[str]]) -> tuple[str, str]:
    """How a usable key stands with its creator's current rights, for lists:
    ("suspended", why) when every call is refused ("creator inactive", "creator not
    staff", "creator lacks queueadmin.view_job"), ("limited", why) when a read-write
    key's creator lacks some of WRITE_PERMISSIONS (those calls are refused), else
    ("", ""). ``held`` comes from ``creators_permissions``."""
    creator = key.created_by
    problem = creator_problem(creator)
    if problem is not None:
        return "suspended", problem
    if creator is None or creator.is_superuser:
        return "", ""
    perms = held.get(creator.pk, set())
    if READ_PERMISSION not in perms:
        return "suspended", f"creator lacks {READ_PERMISSION}"
    missing = [p for p in WRITE_PERMISSIONS if p not in perms] if key.can_write else []
    if missing:
        return "limited", f"creator lacks {and_words(missing)}"
    return "", ""


_PROBLEM_TEXT = {
    "creator inactive": "the key's creator is deactivated",
    "creator not staff": "the key's creator is no longer staff",
}


def _bearer(request: HttpRequest, header: str, permissions: tuple[str, ...], write: bool) -> Caller:
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(
            401, "the Authorization header must be 'Bearer <API key>'", headers=_CHALLENGE
        )
    key = ApiKey.authenticate(secret.strip())
    if key is None:
        raise ApiError(401, "unknown, revoked or expired API key", headers=_CHALLENGE)
    # A key never does more than its creator may, checked against the creator's
    # rights now: active, staff, holding the action's permissions. created_by comes
    # with the key (select_related); has_perm loads their permissions once. A key
    # made by code has no creator and keeps working.
    creator = key.created_by
    problem = creator_problem(creator)
    if problem is not None:
        raise ApiError(403, f"API key {key.prefix}… is suspended: {_PROBLEM_TEXT[problem]}")
    if write and not key.can_write:
        raise ApiError(403, f"API key {key.prefix}… is read-only")
    if creator is not None:
        missing = [p for p in permissions if not creator.has_perm(p)]
        if missing:
            raise ApiError(
                403, f"API key {key.prefix}… is refused: its creator lacks {and_words(missing)}"
            )
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return Caller(actor=f"api key {key.name}", key=key)


def _session(request: HttpRequest, permissions: tuple[str, ...], write: bool) -> Caller:
    user = request.user
    if not user.is_authenticated:
        raise ApiError(
            401,
            "authentication required: send 'Authorization: Bearer <API key>'",
            headers=_CHALLENGE,
        )
    if not (user.is_active and user.is_staff):
        raise ApiError(403, "only staff users may use the API with a session")
    missing = [p for p in permissions if not user.has_perm(p)]
    if missing:
        raise ApiError(403, f"you need the {and_words(missing)} permission")
    if write:
        reason = _CsrfCheck(lambda r: None).process_view(request, None, (), {})
        if reason:
            raise ApiError(403, f"CSRF check failed: {reason}")
    return Caller(actor=user.get_username())


def authenticate(
    request: HttpRequest, permission: str | tuple[str, ...], *, write: bool = False
) -> Caller:
    """The caller, or an ApiError (401 unauthenticated, 403 not allowed).

    ``permission`` is what the action needs (one, or a tuple of all it needs). An
    Authorization header wins over a session. Session callers must be active
    staff holding ``permission``; their writes need the CSRF token. Keys need
    ``can_write`` for writes, and their creator must still be active staff holding
    ``permission`` (else 403): a key never does more than its creator may now.
    """
    permissions = (permission,) if isinstance(permission, str) else tuple(permission)
    header = request.headers.get("Authorization")
    if header is not None:
        return _bearer(request, header, permissions, write)
    return _session(request, permissions, write)
