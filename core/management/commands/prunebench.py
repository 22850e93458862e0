"""manage.py prunebench: prune old jobs while a runworker processes new ones; report stalls."""

from contextlib import nullcontext

from django.conf import settings as django_settings
from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings

from core import readiness
from core.bench import prunebench
from core.bench.table import server
from core.models import Job
from core.validation import positive


class Command(BaseCommand):
    """Run prune_jobs over the old finished jobs here while runworker works; print stalls."""

    help = (
        "Retention pruning while processing: start runworker (no flags), stream new jobs to "
        "it, run the prune_jobs maintenance task over the finished jobs already past their "
        "retention (seed them with seed_jobs), and report how long the worker was held up "
        f"(target: no stall over {prunebench.STALL_TARGET_S:g} s)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rate", type=positive(float), default=50.0, metavar="N",
            help="jobs enqueued per second while it runs (default 50)",
        )  # fmt: skip
        parser.add_argument(
            "--before", type=positive(float), default=5.0, metavar="S",
            help="seconds of streaming before the pruning starts (default 5)",
        )  # fmt: skip
        parser.add_argument(
            "--after", type=positive(float), default=2.0, metavar="S",
            help="seconds of streaming after the pruning ends (default 2)",
        )  # fmt: skip
        parser.add_argument(
            "--job-type", default="demo.quick", metavar="TYPE",
            help="job type of the streamed jobs; runworker needs its handler (demo.quick)",
        )  # fmt: skip
        parser.add_argument(
            "--older-than", type=positive(float), default=None, metavar="S",
            help="prune finished jobs older than S seconds (sets PRUNE_COMPLETED_AFTER and "
            "PRUNE_FAILED_AFTER for this run; default: the settings)",
        )  # fmt: skip

    def handle(self, *args, rate, before, after, job_type, older_than, **options):
        readiness.require_database()
        settings = {}
        if older_than is not None:
            settings = {
                **getattr(django_settings, "QUEUEADMIN", {}),
                "PRUNE_COMPLETED_AFTER": older_than,
                "PRUNE_FAILED_AFTER": older_than,
            }
        with override_settings(QUEUEADMIN=settings) if settings else nullcontext():
            doomed = prunebench.prunable()
            if not doomed:
                raise CommandError(
                    "nothing to prune: seed old jobs first (seed_jobs --count N --days 30) "
                    "or lower --older-than"
                )
            vendor, version = server()
            self.stdout.write(
                f"prunebench on {vendor} ({version}): {Job.objects.count():,} jobs, "
                f"{doomed:,} past their retention"
            )
            result = prunebench.run(
                rate=rate, before=before, after=after, job_type=job_type,
                say=self.stdout.write,
            )  # fmt: skip
        self.stdout.write(f"pruning took {result.prune_seconds:.1f} s ({result.summary})")
        for name in ("before", "during", "after"):
            p = getattr(result, name)
            self.stdout.write(
                f"{name + ' pruning':<15} {p.jobs:6,} jobs  enqueue→start median "
                f"{p.median_s * 1000:7.1f} ms, max {p.max_s * 1000:7.1f} ms; longest gap "
                f"between claims {p.longest_gap_s * 1000:7.1f} ms"
            )
        if result.unstarted:
            self.stdout.write(f"{result.unstarted} streamed job(s) never started")
        verdict = "met" if result.stall_s <= prunebench.STALL_TARGET_S else "MISSED"
        self.stdout.write(
            f"longest stall while pruning: {result.stall_s * 1000:.0f} ms "
            f"(target {prunebench.STALL_TARGET_S * 1000:.0f} ms: {verdict})"
        )
