"""The public queue API: enqueue jobs, look them up, change them, and manage the
wait tokens, cron schedules and queue policies around them.

This module only re-exports; the code lives in ``core.jobs``, ``core.durable``
and ``core.scheduling``. Every state change writes a JobEvent in the same
transaction, so a caller's ``transaction.atomic()`` that rolls back leaves
neither job nor event.
"""

from core.durable.tokens import complete_token, create_token, expire_token, expire_tokens, get_token
from core.jobs.bulk import cancel_jobs, delete_jobs, edit_jobs, retry_jobs
from core.jobs.changes import cancel_job, delete_job, edit_job, retry_job, run_job_now
from core.jobs.enqueue import enqueue, enqueue_many
from core.jobs.idle import wait_idle
from core.jobs.lookup import find_jobs, get_job, job_events, wait
from core.jobs.notifications import listen
from core.jobs.replies import call
from core.scheduling.cron import (
    add_cron,
    edit_cron,
    get_cron,
    list_crons,
    pause_cron,
    remove_cron,
    resume_cron,
    run_cron_now,
)
from core.scheduling.policies import (
    channel_usage,
    clear_channel_policy,
    get_channel_policy,
    get_queue_policy,
    list_queue_policies,
    pause_queue,
    queue_usage,
    resume_queue,
    set_channel_policy,
    set_queue_policy,
)
from core.worker.dequeue import dequeue
from core.worker.once import run_once

__all__ = [
    "add_cron",
    "call",
    "cancel_job",
    "cancel_jobs",
    "channel_usage",
    "clear_channel_policy",
    "complete_token",
    "create_token",
    "delete_job",
    "delete_jobs",
    "dequeue",
    "edit_cron",
    "edit_job",
    "edit_jobs",
    "enqueue",
    "enqueue_many",
    "expire_token",
    "expire_tokens",
    "find_jobs",
    "get_channel_policy",
    "get_cron",
    "get_job",
    "get_queue_policy",
    "get_token",
    "job_events",
    "list_crons",
    "list_queue_policies",
    "listen",
    "pause_cron",
    "pause_queue",
    "queue_usage",
    "remove_cron",
    "resume_cron",
    "resume_queue",
    "retry_job",
    "retry_jobs",
    "run_cron_now",
    "run_job_now",
    "run_once",
    "set_channel_policy",
    "set_queue_policy",
    "wait",
    "wait_idle",
]
