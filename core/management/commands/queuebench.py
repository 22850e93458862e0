"""manage.py queuebench: measure the database's raw limits, then enqueue, processing and
latency on the configured database."""

import shlex

from django.core.management.base import BaseCommand, CommandError

from core import readiness
from core.bench import callbench, queuebench, raw, rawjobs
from core.bench.options import add_options, chosen_phases
from core.bench.table import write_table
from core.validation import positive


class Command(BaseCommand):
    """Benchmark the queue on this project's database and print a table."""

    help = (
        f"Benchmark the queue on the configured database (jobs go to the "
        f"{queuebench.BENCH_QUEUE!r} queue and are deleted afterwards; the raw phase uses "
        f"tables {raw.SCRATCH!r} and {rawjobs.COPY!r} it creates and drops)."
    )

    def add_arguments(self, parser):
        add_options(
            parser, queuebench.COUNTS, queuebench.PHASES, "leave the bench jobs in the database"
        )
        parser.add_argument(
            "--tuned",
            default=queuebench.TUNED,
            metavar="ARGS",
            help="extra runworker arguments of the tuned phase, split like a shell "
            f"(default {queuebench.TUNED!r})",
        )
        parser.add_argument(
            "--timeout",
            type=positive(float),
            default=queuebench.TIMEOUT,
            metavar="SECONDS",
            help=f"longest a processing run may take (default {queuebench.TIMEOUT:g})",
        )
        parser.add_argument(
            "--latency-gap",
            type=float,
            default=0.02,
            metavar="SECONDS",
            help="pause between latency samples and between calls (default 0.02)",
        )

    def handle(self, *args, **opts):
        only = chosen_phases(opts["only"], queuebench.PHASES)
        if opts["latency_gap"] < 0:
            raise CommandError("--latency-gap must be zero or more seconds")
        try:
            shlex.split(opts["tuned"])
        except ValueError as exc:
            raise CommandError(f"--tuned: {exc}") from None
        readiness.require_database()
        rows = queuebench.run(only, opts, self.stderr.write)
        if "call" in only:  # the call phase's own module (core.bench.callbench)
            rows += callbench.rows(opts)
        write_table(self.stdout, "queuebench", rows)
