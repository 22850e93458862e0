"""manage.py streambench: measure publishing and consuming streams on the configured database."""

from django.core.management.base import BaseCommand, CommandError

from core import readiness
from core.bench import streambench
from core.bench.options import add_options, chosen_phases
from core.bench.table import write_table


class Command(BaseCommand):
    """Benchmark streams on this project's database and print a table."""

    help = (
        f"Benchmark streams on the configured database (messages go to the topic "
        f"{streambench.BENCH_TOPIC!r}, which is deleted afterwards)."
    )

    def add_arguments(self, parser):
        add_options(
            parser, streambench.COUNTS, streambench.PHASES, "leave the bench topic and its messages"
        )

    def handle(self, *args, **opts):
        phases = chosen_phases(opts["only"], streambench.PHASES)
        readiness.require_database()
        rows, dense = streambench.run(phases, opts)
        write_table(self.stdout, "streambench", rows)
        if not dense:
            raise CommandError("the concurrent publishers' offsets are not dense")
