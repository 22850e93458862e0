"""manage.py dashboardbench: time every dashboard page, filter and API list here."""

from django.core.management.base import BaseCommand, CommandError

from core import readiness
from core.bench import dashboardbench
from core.bench.dashboardbench import MEDIAN_TARGET_MS, P95_TARGET_MS
from core.bench.table import server
from core.models import Job
from core.validation import positive


class Command(BaseCommand):
    """Print each page's server time (median, p95), query count and whether it is slow."""

    help = (
        "Time every dashboard page, fragment, job filter and API list on the configured "
        "database: over HTTP on a server started here with DEBUG=0 (default), on a running "
        "server (--url), or with the test client (--in-process). Pages over the targets "
        "are flagged SLOW."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--runs", type=positive(int), default=None, metavar="N",
            help="requests per page after a warm-up (default 20 over HTTP, 5 in process)",
        )  # fmt: skip
        parser.add_argument(
            "--target-ms", type=positive(float), default=MEDIAN_TARGET_MS, metavar="MS",
            help=f"flag pages whose median is above this (default {MEDIAN_TARGET_MS:g})",
        )  # fmt: skip
        parser.add_argument(
            "--target-p95-ms", type=positive(float), default=P95_TARGET_MS, metavar="MS",
            help=f"flag pages whose p95 is above this (default {P95_TARGET_MS:g})",
        )  # fmt: skip
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--url", metavar="URL",
            help="time the running server at URL (same database; wall time over the wire)",
        )  # fmt: skip
        mode.add_argument("--in-process", action="store_true", help="use the test client, not HTTP")
        parser.add_argument(
            "--only", metavar="TEXT", default="",
            help="time only the pages whose label contains TEXT",
        )  # fmt: skip

    def handle(self, *args, runs, target_ms, target_p95_ms, url, in_process, only, **options):
        if url is not None and not url.startswith("http://"):
            raise CommandError(f"--url takes an http:// URL, not {url!r}")
        readiness.require_database()
        runs = runs or (5 if in_process else 20)
        vendor, version = server()
        self.stdout.write(
            f"dashboardbench on {vendor} ({version}) with {Job.objects.count():,} jobs — "
            f"median / p95 / max of {runs} requests after a warm-up"
        )
        slow = []

        def show(page: dashboardbench.PageTiming) -> None:
            over = page.slow(target_ms, target_p95_ms)
            if over:
                slow.append(page)
            queries = "  ?" if page.queries is None else f"{page.queries:3d}"
            self.stdout.write(
                f"{page.label[:60]:<60} {page.median_ms:7.1f} / {page.p95_ms:7.1f} / "
                f"{page.max_ms:7.1f} ms {queries} queries  HTTP {page.status}"
                f"{'  SLOW' if over else ''}"
            )

        if in_process:
            report = dashboardbench.run(runs, progress=show, only=only)
        else:
            report = dashboardbench.run_http(runs, base_url=url, progress=show, only=only)
        self.stdout.write(f"times: {report.clock}")
        for what, why in report.skipped:
            self.stdout.write(f"not timed: {what} ({why})")
        if slow:
            self.stdout.write(
                f"{len(slow)} of {len(report.pages)} page(s) over {target_ms:g} ms median "
                f"or {target_p95_ms:g} ms p95: {', '.join(page.label for page in slow)}"
            )
        else:
            self.stdout.write(f"all {len(report.pages)} pages met")
