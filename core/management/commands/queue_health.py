"""manage.py queue_health: is the queue healthy? One line per check, exit code 0 or 1."""

import json

from django.core.management.base import BaseCommand, CommandError

from core import maintenance
from core.insights import health
from core.models.workers import stale_after
from core.validation import positive
from core.worker import liveness


def liveness_report(path: str, max_age: float | None) -> health.Report:
    """The report of a worker's liveness probe: its liveness file is fresh."""
    max_age = stale_after() if max_age is None else max_age
    ok, message = liveness.check(path, max_age)
    return health.Report([health.Check("liveness", ok, message, {"max_age_seconds": max_age})])


class Command(BaseCommand):
    """Run the health checks (or a worker's liveness probe) and exit 0 when all pass."""

    help = (
        "Check the queue's health: database reachable, migrations applied, a live worker "
        "for every served queue, no due job waiting longer than HEALTH_MAX_PENDING_AGE, "
        "maintenance running, no stuck handler thread. One line per check; exit code 0 "
        "when all pass, 1 otherwise. With --liveness FILE, check only that a worker's "
        "liveness file (runworker --liveness-file) is fresh."
    )

    #: A probe runs every few seconds and must answer fast: the checks are its own.
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the checks as JSON")
        parser.add_argument(
            "--liveness",
            metavar="FILE",
            help="a worker's liveness probe: pass while FILE was touched recently",
        )
        parser.add_argument(
            "--max-age",
            type=positive(float),
            metavar="SECONDS",
            help="with --liveness: the file's greatest age (default: WORKER_STALE_SECONDS)",
        )

    def handle(self, *args, **opts):
        if opts["liveness"]:
            report = liveness_report(opts["liveness"], opts["max_age"])
        else:
            tasks = {name: task.interval for name, task in maintenance.TASKS.items()}
            report = health.run(tasks)
        if opts["json"]:
            self.stdout.write(json.dumps(report.as_json(), indent=2))
        else:
            for check in report.checks:
                self.stdout.write(
                    f"{'ok' if check.ok else 'FAIL':<4}  {check.name:<13} {check.message}"
                )
                if check.detail and not check.ok:
                    self.stdout.write(f"      {check.detail}")
        failing = [check.name for check in report.checks if not check.ok]
        if failing:
            raise CommandError(f"unhealthy: {', '.join(failing)}", returncode=1)
