"""Wait tokens: create, complete, look up and expire them."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.durable.waits import resume
from core.exceptions import InvalidJobError, JobNotFound, TokenNotFound
from core.models import Job, JobStatus, TokenStatus, WaitToken
from core.validation import MAX_BIGINT, Checks, text_problem

check = Checks(InvalidJobError)


@dataclass(frozen=True)
class TokenResult:
    """What ``ctx.wait_for_token`` returns once the wait is over."""

    #: True when the token was completed, False when it timed out.
    ok: bool
    #: The data it was completed with.
    output: Any = None
    #: Why it is not ok ("timed out").
    error: str | None = None


@dataclass(frozen=True)
class Completion:
    """What ``complete_token`` did."""

    token: WaitToken
    #: False when the token was already completed or timed out (nothing changed).
    completed: bool


def _timeout_at(timeout: Any):
    if timeout is None:
        return None
    seconds = check.seconds("timeout", timeout, positive=True)
    try:
        return timezone.now() + timedelta(seconds=seconds)
    except OverflowError:
        raise check.fail("timeout", f"too far in the future: {seconds:g} seconds") from None


def create_token(job_id: int, *, timeout: Any = None, tags: Any = None) -> WaitToken:
    """A new waiting token for the job (``timeout`` seconds or a timedelta; None: none).

    InvalidJobError for a bad option, JobNotFound when there is no such job.
    """
    job_id = getattr(job_id, "pk", job_id)  # a Job or its id
    job_id = check.integer("job_id", job_id, 1, MAX_BIGINT)
    timeout_at = _timeout_at(timeout)
    tags = check.strings("tags", tags or [])
    if not Job.objects.filter(pk=job_id).exists():
        raise JobNotFound(f"no job with id {job_id}")
    try:
        with transaction.atomic():
            return WaitToken.objects.create(job_id=job_id, timeout_at=timeout_at, tags=tags)
    except IntegrityError:  # the job was deleted meanwhile
        raise JobNotFound(f"no job with id {job_id}") from None


def _token_key(token_id: Any) -> str:
    """``token_id`` if a token could have it, else TokenNotFound (nothing is looked up)."""
    if not isinstance(token_id, str) or not token_id or text_problem(token_id):
        raise TokenNotFound(f"no token with id {token_id!r}")
    return token_id


def get_token(token_id: str) -> WaitToken:
    """The token with this id, or TokenNotFound."""
    try:
        return WaitToken.objects.get(pk=_token_key(token_id))
    except WaitToken.DoesNotExist:
        raise TokenNotFound(f"no token with id {token_id!r}") from None


def complete_token(token_id: str, data: Any = None, *, actor: Any = None) -> Completion:
    """Complete a waiting token with JSON ``data`` and wake its job.

    Completing a token that is already completed or timed out changes nothing
    and says so (``completed`` False); so does one past its timeout, which is
    timed out instead (its job wakes with ok=False).
    """
    data = check.json("data", data)
    now = timezone.now()
    with transaction.atomic():
        token = WaitToken.objects.select_for_update().filter(pk=_token_key(token_id)).first()
        if token is None:
            raise TokenNotFound(f"no token with id {token_id!r}")
        if token.status != TokenStatus.WAITING:
            return Completion(token, completed=False)
        if token.timeout_at is not None and token.timeout_at <= now:
            _time_out(token, now, actor)
            return Completion(token, completed=False)
        token.status, token.output, token.completed_at = TokenStatus.COMPLETED, data, now
        token.save()
        _wake_waiters([token], now, "token completed", actor)
    return Completion(token, completed=True)


def expire_token(token_id: str, *, actor: Any = None) -> Completion:
    """Time out a waiting token now (an operator's choice); its job wakes with ok=False."""
    now = timezone.now()
    with transaction.atomic():
        token = WaitToken.objects.select_for_update().filter(pk=_token_key(token_id)).first()
        if token is None:
            raise TokenNotFound(f"no token with id {token_id!r}")
        if token.status != TokenStatus.WAITING:
            return Completion(token, completed=False)
        _time_out(token, now, actor)
    return Completion(token, completed=True)


def _time_out(token: WaitToken, now, actor: Any) -> None:
    token.status, token.completed_at = TokenStatus.TIMED_OUT, now
    token.save()
    _wake_waiters([token], now, "token timed out", actor)


def time_out_tokens_of(job_ids) -> int:
    """Time out the waiting tokens of these jobs (cancelled, say); return how many."""
    return WaitToken.objects.filter(job_id__in=job_ids, status=TokenStatus.WAITING).update(
        status=TokenStatus.TIMED_OUT, completed_at=timezone.now()
    )


def expire_tokens() -> int:
    """Time out every waiting token past its timeout and wake its job; return how many."""
    now = timezone.now()
    with transaction.atomic():
        tokens = list(
            WaitToken.objects.select_for_update(skip_locked=True).filter(
                status=TokenStatus.WAITING, timeout_at__lte=now
            )[:1000]
        )
        if not tokens:
            return 0
        WaitToken.objects.filter(pk__in=[t.pk for t in tokens]).update(
            status=TokenStatus.TIMED_OUT, completed_at=now
        )
        _wake_waiters(tokens, now, "token timed out")
    return len(tokens)


def _wake_waiters(tokens: list[WaitToken], now, reason: str, actor: Any = None) -> None:
    ids = list(
        Job.objects.filter(
            status=JobStatus.WAITING, wait_token__in=[t.pk for t in tokens]
        ).values_list("id", flat=True)
    )
    if ids:
        resume(ids, now, reason, actor)


def result_of(token: WaitToken) -> TokenResult | None:
    """The wait's result for a finished token, or None while it is waiting."""
    if token.status == TokenStatus.COMPLETED:
        return TokenResult(ok=True, output=token.output)
    if token.status == TokenStatus.TIMED_OUT:
        return TokenResult(ok=False, error="timed out")
    return None
