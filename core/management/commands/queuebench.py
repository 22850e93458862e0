"""manage.py queuebench: measure enqueue, processing and latency on the configured database."""

from django.core.management.base import BaseCommand, CommandError

from core.bench import queuebench
from core.bench.options import add_options, chosen_phases
from core.bench.table import write_table


class Command(BaseCommand):
    """Benchmark the queue on this project's database and print a table."""

    help = (
        f"Benchmark the queue on the configured database (jobs go to the "
        f"{queuebench.BENCH_QUEUE!r} queue and are deleted afterwards)."
    )

    def add_arguments(self, parser):
        add_options(
            parser, queuebench.COUNTS, queuebench.PHASES, "leave the bench jobs in the database"
        )
        parser.add_argument(
            "--latency-gap",
            type=float,
            default=0.02,
            metavar="SECONDS",
            help="pause between latency samples (default 0.02)",
        )

    def handle(self, *args, **opts):
        only = chosen_phases(opts["only"], queuebench.PHASES)
        if opts["latency_gap"] < 0:
            raise CommandError("--latency-gap must be zero or more seconds")
        write_table(self.stdout, "queuebench", queuebench.run(only, opts, self.stderr.write))
