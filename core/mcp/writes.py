"""The write tools: retry, cancel and run a job now, complete a wait token, pause and
resume a queue. Each is refused unless the server runs with ``--allow-writes`` and a
read-write API key whose creator holds the permissions the JSON API (or the dashboard)
asks for the same change; each is recorded with the actor ``api key <name>``."""

from typing import Annotated, Any

from pydantic import Field

from core import queue as jobs_api
from core.api import params
from core.exceptions import JobStateError
from core.mcp import shapes
from core.mcp.access import Access

#: A retry runs the job again: like enqueueing, it needs add_job too.
RETRY = ("queueadmin.change_job", "queueadmin.add_job")
CHANGE_JOB = ("queueadmin.change_job",)
CHANGE_TOKEN = ("queueadmin.change_waittoken",)
CHANGE_QUEUE = ("queueadmin.change_queue",)

QueueName = Annotated[str, Field(description="the queue's name")]


def write_tools(access: Access) -> list:
    """The write tools, checking ``access`` at every call."""

    def retry_job(job_id: int) -> dict[str, Any]:
        """Retry a failed or cancelled job: it becomes pending with fresh attempts."""
        actor = access.write(*RETRY)
        return shapes.job(jobs_api.retry_job(params.job_id(job_id), actor=actor), detail=True)

    def cancel_job(job_id: int) -> dict[str, Any]:
        """Cancel a job that has not finished (a running one stops at its next check)."""
        actor = access.write(*CHANGE_JOB)
        return shapes.job(jobs_api.cancel_job(params.job_id(job_id), actor=actor), detail=True)

    def run_job_now(job_id: int) -> dict[str, Any]:
        """Make a pending job due now (it was scheduled for later or waiting to retry)."""
        actor = access.write(*CHANGE_JOB)
        return shapes.job(jobs_api.run_job_now(params.job_id(job_id), actor=actor), detail=True)

    def complete_token(
        token_id: str,
        output: Annotated[
            Any, Field(description="any JSON value: what the waiting job receives")
        ] = None,
    ) -> dict[str, Any]:
        """Complete a waiting token with ``output``; its job wakes up and goes on."""
        actor = access.write(*CHANGE_TOKEN)
        done = jobs_api.complete_token(token_id, output, actor=actor)
        if not done.completed:
            raise JobStateError(
                f"token {token_id} is {done.token.status}; only waiting tokens can be completed"
            )
        return {"token": shapes.token(done.token)}

    def pause_queue(name: QueueName) -> dict[str, Any]:
        """Pause a queue: workers start none of its jobs (running ones finish)."""
        actor = access.write(*CHANGE_QUEUE)
        row = jobs_api.pause_queue(name, actor=actor)
        return {"queue": row.name, "paused": row.paused, "by": actor}

    def resume_queue(name: QueueName) -> dict[str, Any]:
        """Resume a paused queue: workers start its jobs again."""
        actor = access.write(*CHANGE_QUEUE)
        row = jobs_api.resume_queue(name, actor=actor)
        return {"queue": row.name, "paused": row.paused, "by": actor}

    return [retry_job, cancel_job, run_job_now, complete_token, pause_queue, resume_queue]
