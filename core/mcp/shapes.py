"""What the tools return: the JSON API's job and token shapes (REDACT applied), and the
dashboard's rows of queues, workers, cron schedules and consumer groups as plain dicts."""

from datetime import datetime
from typing import Any

from core.api.serialize import job_json, token_json
from core.dashboard.views.queues import QueueRow
from core.dashboard.views.streams import TopicRow
from core.jobs.redaction import redact, redacted_keys
from core.models import CronSchedule, Job, JobEvent, WaitToken, Worker, WorkerDeath
from core.scheduling import cron, policies


class _RelativeUrls:
    """The request stand-in job_json asks for URLs: the server has no host, so a job's
    ``status_url`` stays a path (prefix it with the dashboard's address)."""

    @staticmethod
    def build_absolute_uri(location: str) -> str:
        return location


RELATIVE = _RelativeUrls()


def job(row: Job, *, detail: bool = False) -> dict[str, Any]:
    """A job as ``GET /api/jobs`` shows it (``detail``: every error with its traceback)."""
    return job_json(row, RELATIVE, detail=detail)  # type: ignore[arg-type]


def event(row: JobEvent, keys: frozenset[str]) -> dict[str, Any]:
    """One entry of a job's history; an edit's metadata holds payloads, so it is redacted."""
    return {"type": row.type, "at": row.at, "metadata": redact(row.metadata, keys)}


def events(rows: list[JobEvent]) -> list[dict[str, Any]]:
    keys = redacted_keys()
    return [event(row, keys) for row in rows]


def token(row: WaitToken) -> dict[str, Any]:
    """A wait token as the JSON API shows it, its output redacted, with its job's type."""
    data = token_json(row)
    data["output"] = redact(row.output)
    data["job_type"] = row.job.job_type
    data["job_status"] = row.job.status
    return data


def _usage(usage: policies.Usage) -> dict[str, Any]:
    return {"running": usage.running, "next_start_in": round(usage.next_start_in, 3)}


def queue(row: QueueRow) -> dict[str, Any]:
    """A queue's jobs per status (``≈`` marks an estimate), policy and live figures."""
    policy = row.usage.policy
    return {
        "name": row.name,
        "jobs": {status: count.value for status, count in row.cells},
        "estimated": sorted(status for status, count in row.cells if not count.exact),
        "paused": row.paused,
        "max_concurrency": row.usage.max_concurrency,
        "rate_limit": row.usage.rate_limit,
        "rate_period": policy.rate_period if policy is not None else None,
        "starts_in_window": row.usage.starts,
        **_usage(row.usage),
    }


def channel(name: str, usage: policies.Usage) -> dict[str, Any]:
    """A channel policy with its running jobs and the wait before its next start."""
    policy = usage.policy
    return {
        "name": name,
        "max_concurrency": usage.max_concurrency,
        "release_interval": getattr(policy, "release_interval", None),
        **_usage(usage),
    }


def worker(row: Worker, running: list[int], now: datetime) -> dict[str, Any]:
    """A runworker process: what it serves, its state, heartbeat and running jobs."""
    return {
        "id": row.id,
        "host": row.host,
        "pid": row.pid,
        "queues": row.queues,
        "job_types": row.job_types,
        "concurrency": row.concurrency,
        "state": row.state,
        "order": row.order,
        "ordered_by": row.ordered_by,
        "stale": row.is_stale(now),
        "heartbeat_at": row.heartbeat_at,
        "started_at": row.started_at,
        "running": row.running,
        "running_job_ids": running,
        "idle_threads": row.idle,
        "processed": row.processed,
        "completed": row.completed,
        "failed": row.failed,
        "ping_ms": row.ping_ms,
        "stuck_threads": row.stuck,
    }


def death(row: WorkerDeath) -> dict[str, Any]:
    return {
        "worker": row.worker,
        "host": row.host,
        "pid": row.pid,
        "reason": row.reason,
        "detail": row.detail,
        "at": row.at,
    }


def schedule(row: CronSchedule) -> dict[str, Any]:
    """A cron schedule: when it fires (in words too), what it enqueues, how it went."""
    return {
        "name": row.name,
        "expression": row.expression,
        "description": cron.describe(row.expression),
        "timezone": row.timezone,
        "status": row.status,
        "job_type": row.job_type,
        "payload": redact(row.payload),
        "options": row.options,
        "allow_overlap": row.allow_overlap,
        "next_run_at": row.next_run_at,
        "last_enqueued_at": row.last_enqueued_at,
        "last_job_id": row.last_job_id,
        "skipped": row.skipped,
    }


def topic(row: TopicRow) -> dict[str, Any]:
    """A topic's partitions and each consumer group's committed offsets and lag."""
    return {
        "name": row.name,
        "partitions": [
            {"number": p.number, "end_offset": p.end, "retained": p.retained}
            for p in row.partitions
        ],
        "groups": [
            {
                "name": group.name,
                "lag": group.lag,
                "missed": group.missed,
                "pushed_by": group.pushed_by,
                "partitions": [
                    {
                        "number": cell.partition.number,
                        "committed": cell.committed,
                        "lag": cell.lag,
                        "missed": cell.missed,
                    }
                    for cell in group.cells
                ],
            }
            for group in row.groups
        ],
    }
