"""manage.py queuebench: measure enqueue, processing and latency on the configured database."""

from django.core.management.base import BaseCommand, CommandError

from core import bench
from core.management.argtypes import positive
from core.management.benchtable import phases, write_table

PHASES = ("single", "bulk", "processing", "channels", "latency")


class Command(BaseCommand):
    """Benchmark the queue on this project's database and print a table."""

    help = (
        f"Benchmark the queue on the configured database (jobs go to the "
        f"{bench.BENCH_QUEUE!r} queue and are deleted afterwards)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--single",
            type=positive(int),
            default=2000,
            metavar="N",
            help="jobs enqueued one at a time (default 2000)",
        )
        parser.add_argument(
            "--bulk",
            type=positive(int),
            default=50000,
            metavar="N",
            help="jobs enqueued with enqueue_many (default 50000)",
        )
        parser.add_argument(
            "--bulk-chunk",
            type=positive(int),
            default=5000,
            metavar="N",
            help="specs per enqueue_many call (default 5000)",
        )
        parser.add_argument(
            "--jobs",
            type=positive(int),
            default=20000,
            metavar="N",
            help="no-op jobs processed by one burst runworker (default 20000)",
        )
        parser.add_argument(
            "--concurrency",
            type=positive(int),
            default=4,
            help="runworker --concurrency (default 4)",
        )
        parser.add_argument(
            "--batch-size",
            type=positive(int),
            default=1000,
            help="runworker --batch-size (default 1000)",
        )
        parser.add_argument(
            "--channels",
            type=positive(int),
            default=1000,
            metavar="N",
            help="the channels phase spreads --jobs over N channels (default 1000)",
        )
        parser.add_argument(
            "--latency-samples",
            type=positive(int),
            default=200,
            metavar="N",
            help="jobs enqueued one by one to an idle worker (default 200)",
        )
        parser.add_argument(
            "--latency-gap",
            type=float,
            default=0.02,
            metavar="SECONDS",
            help="pause between latency samples (default 0.02)",
        )
        parser.add_argument(
            "--only", default=",".join(PHASES), help=f"comma-separated subset of {','.join(PHASES)}"
        )
        parser.add_argument(
            "--keep", action="store_true", help="leave the bench jobs in the database"
        )

    def handle(self, *args, **opts):
        only = phases(opts["only"], PHASES)
        if opts["latency_gap"] < 0:
            raise CommandError("--latency-gap must be zero or more seconds")
        keep = opts["keep"]
        rows = []
        if "single" in only:
            rate = bench.bench_single(opts["single"], keep)
            rows.append(("single enqueue", f"{rate:,.0f} jobs/s", ""))
        if "bulk" in only:
            rate = bench.bench_bulk(opts["bulk"], opts["bulk_chunk"], keep)
            rows.append(("bulk enqueue", f"{rate:,.0f} jobs/s", ""))
        for phase, channels in (("processing", 0), ("channels", opts["channels"])):
            if phase not in only:
                continue
            result = bench.bench_processing(
                opts["jobs"], opts["concurrency"], opts["batch_size"], keep, channels=channels
            )
            if result.left or result.exit_code:
                self.stderr.write(
                    f"runworker exited with {result.exit_code}, {result.left} job(s) left:\n"
                    f"{result.log}"
                )
            spread = f", {channels:,} channels" if channels else ""
            rows.append(
                (
                    f"processing{spread} (c={opts['concurrency']}, batch={opts['batch_size']})",
                    f"{result.jobs_per_s:,.0f} jobs/s",
                    f"({result.jobs:,} jobs, {result.left:,} left)",
                )
            )
        if "latency" in only:
            result = bench.bench_latency(opts["latency_samples"], opts["latency_gap"], keep)
            rows.append(
                (
                    "latency p50 / p95",
                    f"{result.p50_ms:.1f} / {result.p95_ms:.1f} ms",
                    f"({result.samples:,} samples)",
                )
            )
        write_table(self.stdout, "queuebench", rows)
