"""manage.py streambench: measure publishing and consuming streams on the configured database."""

from django.core.management.base import BaseCommand, CommandError

from core import stream_bench
from core.management.argtypes import positive
from core.management.benchtable import phases, write_table

PHASES = ("single", "batch", "fetch", "concurrent")


class Command(BaseCommand):
    """Benchmark streams on this project's database and print a table."""

    help = (
        f"Benchmark streams on the configured database (messages go to the topic "
        f"{stream_bench.BENCH_TOPIC!r}, which is deleted afterwards)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--single",
            type=positive(int),
            default=2000,
            metavar="N",
            help="messages published one at a time, alone and (in all) by the concurrent "
            "publishers (default 2000)",
        )
        parser.add_argument(
            "--messages",
            type=positive(int),
            default=20000,
            metavar="N",
            help="messages published with publish_many and read by the consumer group "
            "(default 20000)",
        )
        parser.add_argument(
            "--batch",
            type=positive(int),
            default=1000,
            metavar="N",
            help="messages per publish_many call (default 1000)",
        )
        parser.add_argument(
            "--fetch",
            type=positive(int),
            default=1000,
            metavar="N",
            help="messages per fetch of the consumer group (default 1000)",
        )
        parser.add_argument(
            "--publishers",
            type=positive(int),
            default=4,
            metavar="K",
            help="threads publishing one at a time to one partition at once (default 4)",
        )
        parser.add_argument(
            "--only", default=",".join(PHASES), help=f"comma-separated subset of {','.join(PHASES)}"
        )
        parser.add_argument(
            "--keep", action="store_true", help="leave the bench topic and its messages"
        )

    def handle(self, *args, **opts):
        only = phases(opts["only"], PHASES)
        rows, dense = [], True
        stream_bench.setup()
        try:
            if "single" in only:
                rate = stream_bench.bench_single(opts["single"])
                rows.append(("publish (one at a time)", rate, ""))
            if "batch" in only:
                rate = stream_bench.bench_batch(opts["messages"], opts["batch"])
                rows.append((f"publish_many (batch={opts['batch']})", rate, ""))
            if "fetch" in only:
                rate = stream_bench.bench_fetch(opts["messages"], opts["fetch"], opts["batch"])
                rows.append((f"fetch + commit (fetch={opts['fetch']})", rate, ""))
            if "concurrent" in only:
                result = stream_bench.bench_concurrent(opts["single"], opts["publishers"])
                dense = result.dense
                extra = ", dense: yes" if dense else f", dense: NO: {result.detail}"
                rows.append((f"concurrent publish ({result.publishers} publishers)", result, extra))
        finally:
            if not opts["keep"]:
                stream_bench.cleanup()
        write_table(
            self.stdout,
            "streambench",
            [
                (name, f"{rate.per_s:,.0f} msgs/s", f"({rate.messages:,} messages{extra})")
                for name, rate, extra in rows
            ],
        )
        if not dense:
            raise CommandError("the concurrent publishers' offsets are not dense")
