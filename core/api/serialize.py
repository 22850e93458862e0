"""What the API says about jobs and tokens (payload and output with REDACT applied)."""

from typing import Any

from django.http import HttpRequest

from core.jobs.redaction import redact
from core.models import Job, JobStatus, WaitToken

#: Job columns returned as they are.
JOB_FIELDS = (
    "id",
    "job_type",
    "queue",
    "channel",
    "status",
    "priority",
    "payload",
    "output",
    "progress",
    "attempts",
    "max_attempts",
    "tags",
    "idempotency_key",
    "depends_on",
    "run_at",
    "wait_until",
    "created_at",
    "updated_at",
    "started_at",
    "completed_at",
    "failed_at",
    "cancelled_at",
)


def job_json(job: Job, request: HttpRequest, *, detail: bool = False) -> dict[str, Any]:
    """A job as the API shows it; ``detail`` adds every attempt's error with its traceback."""
    data = {name: getattr(job, name) for name in JOB_FIELDS}
    data["payload"] = redact(job.payload)
    data["output"] = redact(job.output)
    data["status_url"] = request.build_absolute_uri(job.status_url)
    last = job.errors[-1] if job.errors else None
    data["last_error"] = None if last is None else {k: last.get(k) for k in ("type", "message")}
    if detail:
        data["errors"] = job.errors
    return data


def public_error(job: Job) -> str | None:
    """The error a job's end user may see: the last attempt's message, once it failed."""
    if job.status == JobStatus.FAILED:
        last = job.errors[-1] if job.errors else {}
        return str(last.get("message") or "the job failed")
    if job.status == JobStatus.CANCELLED:
        return "the job was cancelled"
    return None


def status_json(job: Job) -> dict[str, Any]:
    """What a job's public status URL returns."""
    return {
        "status": job.status,
        "progress": job.progress,
        "output": redact(job.output),
        "error": public_error(job),
        "updated_at": job.updated_at,
        "finished": job.is_finished,
    }


def token_json(token: WaitToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "job_id": token.job_id,
        "status": token.status,
        "output": token.output,
        "timeout_at": token.timeout_at,
        "tags": token.tags,
        "created_at": token.created_at,
        "completed_at": token.completed_at,
    }
