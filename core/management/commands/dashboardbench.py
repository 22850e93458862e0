"""manage.py dashboardbench: time each dashboard page on the configured database."""

from django.core.management.base import BaseCommand
from django.db import connection

from core.bench import dashboardbench
from core.models import Job
from core.validation import positive


class Command(BaseCommand):
    """Print each dashboard page's server time and SQL query count."""

    help = "Time every dashboard page (overview, job list tabs and filters, details) here."

    def add_arguments(self, parser):
        parser.add_argument(
            "--runs", type=positive(int), default=5, help="requests per page (default 5)"
        )
        parser.add_argument(
            "--target-ms",
            type=positive(float),
            default=150.0,
            help="flag pages whose median is above this (default 150)",
        )

    def handle(self, *args, runs, target_ms, **options):
        total = Job.objects.count()
        self.stdout.write(
            f"dashboardbench on {connection.vendor} with {total:,} jobs — median / max of "
            f"{runs} requests, server time incl. rendering"
        )
        slow = 0
        for page in dashboardbench.run(runs):
            over = page.median_ms > target_ms or page.status != 200
            slow += over
            self.stdout.write(
                f"{page.label[:44]:<44} {page.median_ms:7.1f} / {page.max_ms:7.1f} ms "
                f"{page.queries:3d} queries  HTTP {page.status}{'  SLOW' if over else ''}"
            )
        self.stdout.write(f"{slow} page(s) over {target_ms:g} ms" if slow else "all pages met")
