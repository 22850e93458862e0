"""manage.py queue_maintenance: run the maintenance tasks once now."""

import os
import socket

from django.core.management.base import BaseCommand, CommandError

from core import maintenance


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

    def handle(self, *args, **opts):
        worker_id = f"queue_maintenance:{socket.gethostname()}:{os.getpid()}"
        results = maintenance.run_all(worker_id, opts["task"])
        for name, result in results.items():
            self.stdout.write(f"{name}: {result}")
        failed = [name for name, result in results.items() if not result.ok]
        if failed:
            raise CommandError(f"failed: {', '.join(failed)}")
