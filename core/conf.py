"""queueadmin's settings, read from ``settings.QUEUEADMIN`` with documented defaults."""

from typing import Any

from django.conf import settings

#: Defaults for every key of ``settings.QUEUEADMIN``.
DEFAULTS: dict[str, Any] = {
    #: Queue used when ``enqueue`` is not given one.
    "DEFAULT_QUEUE": "default",
    #: Attempts a job gets before it is failed for good (the first run counts).
    "DEFAULT_MAX_ATTEMPTS": 3,
    #: Base delay in seconds before a retry.
    "DEFAULT_RETRY_DELAY": 10.0,
    #: "exponential" (delay * 2**attempts, with jitter) or "fixed".
    "DEFAULT_RETRY_BACKOFF": "exponential",
    #: Cap in seconds on the exponential delay.
    "DEFAULT_RETRY_DELAY_MAX": 3600.0,
    #: Modules imported by workers to register handlers (besides each app's
    #: handlers.py / jobs.py).
    "HANDLER_MODULES": [],
    #: PostgreSQL: the worker's claims and outcomes and enqueue's inserts are planned
    #: once per connection (server-side prepared statements). Set False behind a
    #: connection pooler in transaction mode that cannot keep prepared statements
    #: (PgBouncer before 1.21, or without max_prepared_statements).
    "PREPARED_STATEMENTS": True,
    #: Seconds a claimed job's lease lasts; heartbeats renew it every third of that.
    "LEASE_SECONDS": 30.0,
    #: Seconds an idle worker waits between polls (None: 1.0 on PostgreSQL,
    #: which also wakes on NOTIFY, and 0.05 on SQLite).
    "POLL_INTERVAL": None,
    #: Minimum seconds between two progress writes of one job (100% is always written).
    "PROGRESS_INTERVAL": 0.5,
    #: Minimum seconds between two ``progress`` events in one job's history (the first
    #: change is always recorded; None: none).
    "PROGRESS_EVENT_INTERVAL": 5.0,
    #: Rows changed per statement by bulk edits/cancels and per insert by enqueue_many.
    "BULK_CHUNK_SIZE": 1000,
    #: Above this many rows the dashboard shows the planner's estimate ("≈ 1.2M")
    #: instead of counting (PostgreSQL; SQLite always counts).
    "DASHBOARD_EXACT_COUNT_LIMIT": 100_000,
    #: Seconds one dashboard panel may spend counting before it shows estimates
    #: for the rest (PostgreSQL).
    "DASHBOARD_COUNT_SECONDS": 0.1,
    #: Jobs per page of the dashboard's job list.
    "DASHBOARD_PAGE_SIZE": 50,
    #: Seconds a dashboard request spends on a bulk action before it hands the
    #: rest to the next request.
    "DASHBOARD_BULK_SECONDS": 1.0,
    #: Seconds without a heartbeat after which a worker counts as dead (None: 3 leases).
    "WORKER_STALE_SECONDS": None,
    #: Seconds between two runs of the frequent maintenance tasks (reclaim, wake,
    #: expire_tokens); workers look for due tasks at every heartbeat.
    "MAINTENANCE_INTERVAL": 5.0,
    #: Seconds between two looks for due cron schedules (workers look at every
    #: heartbeat, so a fire time is enqueued at most a heartbeat late).
    "CRON_INTERVAL": 1.0,
    #: Seconds between two runs of the pruning tasks (prune_jobs, prune_workers).
    "PRUNE_INTERVAL": 60.0,
    #: Seconds between two runs of prune_streams, which applies the topics' retention.
    "STREAM_RETENTION_INTERVAL": 60.0,
    #: Seconds between two runs of the rollup task, which writes the per-minute job
    #: statistics (JobStat) behind the charts once each minute has closed.
    "STATS_ROLLUP_INTERVAL": 15.0,
    #: Seconds back the rollup catches up on minutes it missed (workers down); older
    #: minutes stay without statistics.
    "STATS_CATCHUP_SECONDS": 3600,
    #: Seconds the job statistics (per minute and per hour) are kept (8 days: the 7-day charts).
    "STATS_RETENTION_SECONDS": 691_200,
    #: Seconds a worker holds a maintenance task it claimed, renewed while it runs; if it
    #: dies mid-run, another worker takes the task over after this (None: a third of
    #: LEASE_SECONDS, the heartbeat interval).
    "MAINTENANCE_LOCK_SECONDS": None,
    #: Seconds back a cron schedule catches up on fire times it missed (workers down or
    #: a worker dead inside the cron task): each one inside it gets its job, older ones
    #: are skipped (counted in the schedule's ``skipped``).
    "CRON_CATCHUP_SECONDS": 3600,
    #: Seconds one maintenance task may spend inside a worker's heartbeat before it
    #: leaves the rest to its next run (None: a third of the worker's lease, so
    #: heartbeats keep renewing leases; ``queue_maintenance`` has no limit).
    "MAINTENANCE_TIME_LIMIT": None,
    #: Seconds after which completed and cancelled jobs are deleted with their events
    #: and tokens (None: never).
    "PRUNE_COMPLETED_AFTER": 604_800,
    #: Seconds after which failed jobs are deleted with their events and tokens
    #: (None: never).
    "PRUNE_FAILED_AFTER": 2_592_000,
    #: Age after which job events are deleted from the history of jobs that stay (a
    #: duration: seconds or "30d"; the stored ``added`` rows are kept). None: events
    #: go only with their jobs (PRUNE_COMPLETED_AFTER, PRUNE_FAILED_AFTER).
    "EVENT_RETENTION": None,
    #: Seconds a due pending job may wait (the next job of its queue to start, in claim
    #: order: priority, then run_at) before ``queue_health`` and /api/health fail.
    "HEALTH_MAX_PENDING_AGE": 300.0,
    #: Seconds without a heartbeat after which a Worker row is deleted (None: never).
    "WORKER_PRUNE_AFTER": 86_400,
    #: Seconds a handler thread running a job without a timeout may go without
    #: reporting (taking the job, or any call into ``ctx``) before the worker flags it
    #: stuck: listed in Worker.stuck, warned about once, and the liveness file is no
    #: longer touched while it lasts.
    "STUCK_SECONDS": 300.0,
    #: A file the worker touches after each heartbeat that reached the database while
    #: no thread was stuck, for a container liveness probe (None: none; runworker
    #: --liveness-file sets it per process).
    "LIVENESS_FILE": None,
    #: Seconds between two looks of a worker's stream pusher for due push
    #: subscriptions (partitions with new messages, or whose retry wait ended).
    "STREAM_PUSH_INTERVAL": 0.5,
    #: Seconds a pusher's lease on a (group, partition) lasts; renewed every third of
    #: that while a POST is in flight, so another worker takes over only if it died.
    "STREAM_PUSH_LEASE_SECONDS": 30.0,
    #: Payload key names whose values the dashboard, the admin and the JSON API show as
    #: "•••" (matched case-insensitively at any depth); handlers get the real values.
    "REDACT": [],
    #: Dotted path of a generator function each handler thread of a worker runs once
    #: when it starts: what it yields is handed to that thread's jobs as
    #: ``ctx.resources``, the code after the yield runs when the thread ends (None:
    #: none; ``@core.handlers.worker_setup`` registers one too).
    "WORKER_SETUP": None,
    #: Dotted path of a function ``fn(job) -> str`` whose text the worker adds to each
    #: job's log line (None: none; ``@core.handlers.job_describer`` registers one too).
    "JOB_DESCRIBER": None,
}


def get(name: str) -> Any:
    """Return the queueadmin setting ``name``, falling back to its default."""
    if name not in DEFAULTS:
        raise KeyError(f"unknown queueadmin setting {name!r}")
    return getattr(settings, "QUEUEADMIN", {}).get(name, DEFAULTS[name])
