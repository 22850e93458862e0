"""manage.py seed_jobs: bulk-create realistic jobs in every status for scale tests and demos."""

from django.core.management.base import BaseCommand, CommandError

from core.demo import seed
from core.validation import positive


class Command(BaseCommand):
    """Add N realistic jobs (every status, a week of history) and their events, fast."""

    help = (
        "Bulk-create N realistic jobs in every status (completed, failed, cancelled, pending, "
        "processing, waiting) spread over the last days, with their events, after the "
        "existing jobs. For dashboard scale tests and demos."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--count", type=positive(int), required=True, metavar="N", help="jobs to create"
        )
        parser.add_argument(
            "--no-events", action="store_true", help="skip the job events (faster, smaller)"
        )
        parser.add_argument(
            "--seed", type=int, default=None, metavar="S", help="random seed, for the same data"
        )
        parser.add_argument(
            "--days",
            type=positive(float),
            default=7.0,
            metavar="D",
            help="spread the jobs' creation over the last D days (default 7)",
        )

    def handle(self, *args, **opts):
        try:
            result = seed.seed_jobs(
                opts["count"], events=not opts["no_events"], seed=opts["seed"], days=opts["days"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        mix = ", ".join(f"{status} {n:,}" for status, n in result.statuses.items())
        self.stdout.write(
            f"seeded {result.jobs:,} jobs ({mix}) and {result.events:,} events "
            f"in {result.seconds:.1f} s"
        )
