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


def _bearer(request: HttpRequest, header: str, write: bool) -> Caller:
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(
            401, "the Authorization header must be 'Bearer <API key>'", headers=_CHALLENGE
        )
    key = ApiKey.authenticate(secret.strip())
    if key is None:
        raise ApiError(401, "unknown, revoked or expired API key", headers=_CHALLENGE)
    # created_by comes with the key (select_related): no extra query. A key made by
    # code has no creator and keeps working.
    creator = key.created_by
    if creator is not None and not creator.is_active:
        raise ApiError(
            401,
            f"API key {key.prefix}… is refused: the key's creator is deactivated",
            headers=_CHALLENGE,
        )
    if write and not key.can_write:
        raise ApiError(403, f"API key {key.prefix}… is read-only")
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return Caller(actor=f"api key {key.name}", key=key)


def _session(request: HttpRequest, permission: str, write: bool) -> Caller:
    user = request.user
    if not user.is_authenticated:
        raise ApiError(
            401,
            "authentication required: send 'Authorization: Bearer <API key>'",
            headers=_CHALLENGE,
        )
    if not (user.is_active and user.is_staff):
        raise ApiError(403, "only staff users may use the API with a session")
    if not user.has_perm(permission):
        raise ApiError(403, f"you need the {permission} permission")
    if write:
        reason = _CsrfCheck(lambda r: None).process_view(request, None, (), {})
        if reason:
            raise ApiError(403, f"CSRF check failed: {reason}")
    return Caller(actor=user.get_username())


def authenticate(request: HttpRequest, permission: str, *, write: bool = False) -> Caller:
    """The caller, or an ApiError (401 unauthenticated, 403 not allowed).

    An Authorization header wins over a session. Session callers must be
    active staff holding ``permission``; their writes need the CSRF token.
    Keys need ``can_write`` for writes; a key whose creator is deactivated is refused.
    """
    header = request.headers.get("Authorization")
    if header is not None:
        return _bearer(request, header, write)
    return _session(request, permission, write)
