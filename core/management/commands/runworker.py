"""manage.py runworker: run jobs."""

import logging
import os
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from core import conf, readiness
from core.durations import duration_option
from core.validation import positive
from core.worker import liveness
from core.worker.burst import LEFT_JOBS
from core.worker.hooks import WorkerSetupError
from core.worker.once import run_worker
from core.worker.runner import Worker, WorkerOptions
from core.worker.supervisor import Supervisor, TooManyDeaths


class Command(BaseCommand):
    """Run a worker (or several supervised worker processes)."""

    help = "Run queueadmin jobs. Stops cleanly on SIGTERM/SIGINT (a second signal exits at once)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--queue",
            "-q",
            action="append",
            dest="queues",
            metavar="NAME",
            help="queue to serve (repeat for several; '*' for all). Default: default",
        )
        parser.add_argument(
            "--job-type",
            action="append",
            dest="job_types",
            metavar="TYPE",
            help="only run these job types (repeatable)",
        )
        parser.add_argument(
            "--concurrency",
            "-c",
            type=positive(int),
            default=4,
            help="threads running jobs (default 4)",
        )
        parser.add_argument(
            "--processes",
            "-p",
            type=positive(int),
            default=1,
            help="worker processes, supervised and restarted (default 1)",
        )
        parser.add_argument(
            "--batch-size",
            type=positive(int),
            default=None,
            help="most jobs claimed per statement (default 1000); below it each claim is "
            "sized from the observed job and claim times: short jobs are claimed in "
            "batches, long ones only for idle threads",
        )
        parser.add_argument(
            "--poll-interval",
            type=duration_option(positive=True),
            default=None,
            help="seconds between polls when idle (default 1 on PostgreSQL, "
            "which also wakes on NOTIFY; 0.05 on SQLite)",
        )
        parser.add_argument(
            "--burst",
            action="store_true",
            help="exit when no due job is left that this worker could run; due jobs held "
            "back by a queue's rate limit or max concurrency or a channel's release interval "
            "are waited for (see --burst-wait)",
        )
        parser.add_argument(
            "--burst-wait",
            type=duration_option(),
            default=60.0,
            metavar="SECONDS",
            help="with --burst: how long to wait for held-back jobs without claiming any; "
            f"then exit with code {LEFT_JOBS}, saying how many were left (default 60)",
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="claim one batch (at most --max-jobs jobs), run it, write its outcomes, "
            "print a one-line summary and exit",
        )
        parser.add_argument(
            "--max-jobs", type=positive(int), default=None, help="exit after this many jobs"
        )
        parser.add_argument("--worker-id", default=None, help="worker id (default host:pid:rand)")
        parser.add_argument(
            "--grace",
            type=duration_option(),
            default=30.0,
            help="seconds running jobs get to finish on shutdown (default 30)",
        )
        parser.add_argument(
            "--lease",
            type=duration_option(positive=True),
            default=None,
            help="lease seconds (default: the LEASE_SECONDS setting, 30)",
        )
        parser.add_argument(
            "--max-restarts",
            type=int,
            default=5,
            help="with --processes: deaths tolerated within --restart-window",
        )
        parser.add_argument("--restart-window", type=duration_option(), default=60.0)
        parser.add_argument(
            "--no-push",
            action="store_true",
            help="do not deliver stream push subscriptions from this worker",
        )
        parser.add_argument(
            "--liveness-file",
            default=None,
            metavar="FILE",
            help="touch FILE at each heartbeat while no handler thread is stuck, for a "
            "container liveness probe (default: the LIVENESS_FILE setting; with --processes "
            "each child touches FILE.<slot> and FILE follows the oldest of them)",
        )
        parser.add_argument("--worker-slot", type=int, default=None, help="(internal)")

    def handle(self, *args, **opts):
        if opts["grace"] < 0:
            raise CommandError("--grace must be zero or more seconds")
        live_file = opts["liveness_file"] or conf.get("LIVENESS_FILE")
        if live_file and not os.path.isdir(os.path.dirname(os.path.abspath(live_file))):
            raise CommandError(f"liveness file {live_file}: its directory does not exist")
        readiness.require_database()
        self._configure_logging(opts["verbosity"])
        if opts["processes"] > 1:
            return self._supervise(opts, live_file)
        queues = opts["queues"] or ["default"]
        worker_id = opts["worker_id"]
        if opts["worker_slot"] is not None:
            if worker_id:
                worker_id = f"{worker_id}-{opts['worker_slot']}"
            if live_file:
                live_file = liveness.slot_path(live_file, opts["worker_slot"])
        options = WorkerOptions(
            queues=None if "*" in queues else queues,
            job_types=opts["job_types"],
            concurrency=opts["concurrency"],
            batch_size=opts["batch_size"],
            poll_interval=opts["poll_interval"],
            burst=opts["burst"],
            burst_wait=opts["burst_wait"],
            once=opts["once"],
            max_jobs=opts["max_jobs"],
            worker_id=worker_id,
            grace=opts["grace"],
            lease=opts["lease"],
            log_jobs=opts["verbosity"] >= 1,
            push=not opts["no_push"],
            liveness_file=live_file,
        )
        try:
            if options.once:
                result = run_worker(Worker(options))
                self.stdout.write(f"once: {result.summary()}")
                return
            code = Worker(options).run()
        except WorkerSetupError as exc:
            raise CommandError(str(exc)) from None
        if code:
            sys.exit(code)

    def _supervise(self, opts, live_file: str | None):
        argv = [a for a in sys.argv[1:]]
        # Children run the same command line without --processes.
        child_args = _without(argv, {"--processes", "-p"})
        main = os.path.abspath(sys.argv[0])
        prefix = (
            [sys.executable, main] if main.endswith(".py") else [sys.executable, "-m", "django"]
        )
        supervisor = Supervisor(
            [*prefix, *child_args],
            opts["processes"],
            max_deaths=opts["max_restarts"],
            window=opts["restart_window"],
            grace=opts["grace"],
            liveness_file=live_file,
        )
        try:
            code = supervisor.run()
        except TooManyDeaths as exc:
            raise CommandError(str(exc)) from None
        if code:
            sys.exit(code)

    def _configure_logging(self, verbosity: int) -> None:
        logger = logging.getLogger("queueadmin")
        logger.setLevel(logging.DEBUG if verbosity >= 3 else logging.INFO)
        if not logger.hasHandlers():
            # The project's LOGGING gives our loggers no handler: print to stderr anyway,
            # or a worker would say nothing about what it does.
            handler = logging.StreamHandler()
            handler.setFormatter(_LineFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
            logger.addHandler(handler)
            # This process's only handler needs no caller, thread or process names:
            # not collecting them makes a job's log line cost half as much (see
            # "Optimization" in the logging documentation).
            logging._srcfile = None
            logging.logThreads = logging.logProcesses = False
            logging.logMultiprocessing = logging.logAsyncioTasks = False
        if verbosity == 0:
            logging.getLogger("queueadmin.worker.jobs").setLevel(logging.WARNING)


class _LineFormatter(logging.Formatter):
    """The standard format, its date formatted once per second instead of per line."""

    _second: tuple[int, str] = (-1, "")

    def formatTime(self, record, datefmt=None):
        second = int(record.created)
        if self._second[0] != second:
            self._second = (second, time.strftime("%Y-%m-%d %H:%M:%S", self.converter(second)))
        return f"{self._second[1]},{int(record.msecs):03d}"


def _without(argv: list[str], flags: set[str]) -> list[str]:
    """argv without the given flags and their values (``--flag v`` or ``--flag=v``)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in flags:
            skip = True
            continue
        if any(arg.startswith(f + "=") for f in flags if f.startswith("--")):
            continue
        out.append(arg)
    return out
