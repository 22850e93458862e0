"""Run one attempt of one job and turn what happened into an Outcome."""

import logging
import time
import traceback
from typing import Any

from django.utils import timezone

from core.drivers.rows import ClaimedJob, Outcome
from core.durable.context import JobContext
from core.durable.registry import get_handler
from core.durable.waits import Suspend, park
from core.validation import Checks
from core.worker.retry import retry_delay

logger = logging.getLogger("queueadmin.worker")

#: Failure reasons recorded with each error.
HANDLER_ERROR, TIMEOUT, NO_HANDLER = "handler_error", "timeout", "no_handler"
#: Outcome status of a run that parked its job (already written; nothing to batch).
SUSPENDED = "suspended"


#: The shared JSON check of a handler's output (its errors are ValueErrors).
_output_check = Checks(ValueError)


class JobTimeout(Exception):
    """The attempt ran past the job's timeout."""


class NoHandler(Exception):
    """No handler is registered for the job's type."""


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


def error_entry(job: ClaimedJob, exc: BaseException, reason: str, tb: str | None = None) -> dict:
    """The errors[] entry recorded for a failed attempt."""
    if tb is None:
        tb = "".join(traceback.format_exception(exc))
    return {
        "attempt": job.attempts,
        "at": timezone.now().isoformat(),
        "type": _type_name(exc),
        "message": str(exc),
        "traceback": tb,
        "reason": reason,
    }


def failure(job: ClaimedJob, error: dict[str, Any]) -> Outcome:
    """A retry after the backoff delay, or a final failure (with its dead letter)."""
    meta = {"attempt": job.attempts, "reason": error["reason"], "error": error["message"][:500]}
    final = error["reason"] == NO_HANDLER or job.attempts >= job.max_attempts
    if not final:
        delay = retry_delay(
            job.attempts,
            base=job.retry_delay,
            backoff=job.retry_backoff,
            cap=job.retry_delay_max,
        )
        return Outcome(
            job.id,
            "pending",
            "retried",
            error=error,
            delay=delay,
            meta={**meta, "retry_in": round(delay, 3)},
        )
    dead_letter = None
    if job.dead_letter_job_type:
        dead_letter = {
            "job_type": job.dead_letter_job_type,
            "queue": job.queue,
            "payload": {
                "job_id": job.id,
                "job_type": job.job_type,
                "payload": job.payload,
                "attempts": job.attempts,
                "error": {k: error[k] for k in ("type", "message", "reason")},
            },
        }
        meta["dead_letter_job_type"] = job.dead_letter_job_type
    return Outcome(job.id, "failed", "failed", error=error, meta=meta, dead_letter=dead_letter)


def completed(job: ClaimedJob, output: Any) -> Outcome:
    """A completed attempt; ``output`` must be JSON or the attempt fails."""
    try:
        if output is not None:  # most handlers return nothing: no check needed
            _output_check.json("output", output, as_stored=False)
    except ValueError as exc:  # not JSON, too deep, or strings no database stores
        bad = TypeError(f"handler returned output that is not JSON-serialisable or storable: {exc}")
        return failure(job, error_entry(job, bad, HANDLER_ERROR, tb=""))
    return Outcome(job.id, "completed", "completed", output=output, meta={"attempt": job.attempts})


def run_in_thread(job: ClaimedJob, ctx: JobContext) -> Outcome:
    """Call the job's handler here and now; exceptions become failures."""
    fn = get_handler(job.job_type)
    if fn is None:
        exc = NoHandler(f"no handler registered for job type {job.job_type!r}")
        return failure(job, error_entry(job, exc, NO_HANDLER, tb=""))
    try:
        returned = fn(job.payload, ctx)
    except Suspend as request:
        return suspended(job, ctx, request)
    except Exception as exc:
        reason = TIMEOUT if ctx.deadline is not None and ctx.should_abort() else HANDLER_ERROR
        return failure(job, error_entry(job, exc, reason))
    if ctx.deadline is not None and time.monotonic() >= ctx.deadline:
        exc = JobTimeout(f"job ran past its timeout of {job.timeout:g}s")
        return failure(job, error_entry(job, exc, TIMEOUT, tb=""))
    return completed(job, ctx.output_or(returned))


def suspended(job: ClaimedJob, ctx: JobContext, request: Suspend) -> Outcome:
    """Park the job now (its own transaction); the Outcome only reports it."""
    try:
        parked = park(job.id, ctx.worker_id, request, ctx.steps_to_save())
    except Exception as exc:
        return failure(job, error_entry(job, exc, HANDLER_ERROR))
    event = type(request).__name__.lower()
    return Outcome(job.id, SUSPENDED, event if parked else "dropped", meta={"parked": parked})


def timed_out(job: ClaimedJob) -> Outcome:
    """The outcome written at the deadline of a handler that has not returned."""
    exc = JobTimeout(f"job ran past its timeout of {job.timeout:g}s")
    return failure(job, error_entry(job, exc, TIMEOUT, tb=""))
