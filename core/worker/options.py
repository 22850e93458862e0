"""WorkerOptions: how a runworker process runs (its command-line options)."""

from dataclasses import dataclass, field


@dataclass
class WorkerOptions:
    """How a worker runs; see ``manage.py runworker --help``."""

    #: Queues to serve; None serves every queue.
    queues: list[str] | None = field(default_factory=lambda: ["default"])
    #: Only these job types; None for all.
    job_types: list[str] | None = None
    #: Threads running jobs.
    concurrency: int = 4
    #: Most jobs claimed by one statement (None: sizing.DEFAULT_CAP). Below it the
    #: worker sizes each claim from its job and claim times (core.worker.sizing);
    #: jobs beyond the idle threads wait in a local buffer, their leases renewed.
    batch_size: int | None = None
    #: Seconds between polls when idle (None: the driver's default).
    poll_interval: float | None = None
    #: Exit when no due job is left that this worker could run (waiting out the rate
    #: limits and release intervals that hold due jobs back, see core.worker.burst).
    burst: bool = False
    #: With ``burst``: seconds to wait for held-back jobs without claiming any before
    #: exiting anyway (exit code core.worker.burst.LEFT_JOBS).
    burst_wait: float = 60.0
    #: Claim one batch, run it, write its outcomes and exit (core.worker.once).
    once: bool = False
    #: Exit after claiming this many jobs.
    max_jobs: int | None = None
    worker_id: str | None = None
    #: Seconds running jobs get to finish after the first SIGTERM/SIGINT.
    grace: float = 30.0
    #: Lease seconds (None: the LEASE_SECONDS setting).
    lease: float | None = None
    #: Log one line per job at INFO.
    log_jobs: bool = True
    #: Deliver stream push subscriptions on a thread of this worker.
    push: bool = True
    #: File touched at each heartbeat while no thread is stuck (None: the
    #: LIVENESS_FILE setting; see core.worker.liveness).
    liveness_file: str | None = None
