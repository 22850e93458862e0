"""manage.py queue_maintenance: run the maintenance tasks once now."""

import os
import socket

from django.core.management.base import BaseCommand, CommandError

from core import maintenance
from core.durations import duration_option

#: The age options: (option, task, unit of a bare number, what it does).
AGES = (
    (
        "--reclaim-older-than",
        "reclaim",
        "m",
        "also reclaim processing jobs started more than N minutes ago, leased or not",
    ),
    (
        "--delete-jobs-older-than",
        "prune_jobs",
        "d",
        "delete finished jobs older than N days (in place of PRUNE_COMPLETED_AFTER and "
        "PRUNE_FAILED_AFTER)",
    ),
    (
        "--delete-events-older-than",
        "prune_events",
        "d",
        "delete events older than N days of jobs that stay (in place of EVENT_RETENTION)",
    ),
)


class Command(BaseCommand):
    """Run every maintenance task (or those named) once, whatever their interval."""

    help = (
        "Run the maintenance tasks once now, whatever their interval and without a time "
        "limit: "
        + "; ".join(f"{name} ({task.description})" for name, task in maintenance.TASKS.items())
        + ". A task a worker is running at the moment is skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--task",
            action="append",
            choices=list(maintenance.TASKS),
            metavar="NAME",
            help=f"run only this task (repeatable): {', '.join(maintenance.TASKS)}",
        )
        for option, _task, unit, text in AGES:
            parser.add_argument(
                option,
                type=duration_option(unit),
                metavar="N",
                help=f"{text}; a duration such as 12h also works (runs only the tasks given "
                "an age, with --task)",
            )

    def handle(self, *args, **opts):
        worker_id = f"queue_maintenance:{socket.gethostname()}:{os.getpid()}"
        ages = {
            task: opts[option[2:].replace("-", "_")]
            for option, task, _, _ in AGES
            if opts[option[2:].replace("-", "_")] is not None
        }
        # Given ages, only those tasks run (and any named with --task).
        names = opts["task"] or None
        if ages:
            names = [*(names or []), *ages]
        results = maintenance.run_all(worker_id, names, older_than=ages)
        for name, result in results.items():
            self.stdout.write(f"{name}: {result}")
        failed = [name for name, result in results.items() if not result.ok]
        if failed:
            raise CommandError(f"failed: {', '.join(failed)}")
