"""Set up the demo of `make run` and enqueue its small workload."""

from django.core.management.base import BaseCommand, CommandError

from core.demo import workload


class Command(BaseCommand):
    """Apply the demo's settings (cron, queue and channel policies, stream and push
    subscription, read-only API key) and add a few jobs of each demo type."""

    help = (
        "Set up the demo (an every-minute cron schedule, a rate-limited queue with a channel "
        "policy, a topic pushed to this server's /examples/hook/, a read-only API key) and "
        "enqueue a small workload: quick, slow, flaky, scheduled, approval, failing and email "
        "jobs. Safe to run again: settings are applied, not duplicated."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default=workload.BASE_URL,
            metavar="URL",
            help="where this project is served, for the push subscription's endpoint "
            f"(default {workload.BASE_URL})",
        )

    def handle(self, *args, base_url: str, **options):
        try:
            base_url = workload.clean_base_url(base_url)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        demo = workload.enqueue_demo(base_url)
        created = f" (created: {', '.join(demo.created)})" if demo.created else ""
        self.stdout.write(f"Demo settings applied{created}:")
        lines = (
            f"Cron: {workload.CRON_NAME!r} runs {workload.TICK} every minute (and once now)",
            f"Queues: {workload.MAIL_QUEUE!r} limited to {workload.MAIL_RATE_LIMIT} starts per "
            f"{workload.MAIL_RATE_PERIOD:g} s; channel {workload.POLICY_CHANNEL!r} runs one job "
            f"at a time, {workload.POLICY_INTERVAL:g} s apart",
            f"Streams: topic {workload.TOPIC!r} pushed to {demo.subscription.endpoint} as group "
            f"{workload.PUSH_GROUP!r}; group {workload.SLOW_GROUP!r} reads it slowly",
            "Tokens: a demo.approval job waits for you to complete its token",
            f"API keys: read-only key {workload.DEMO_KEY_NAME!r} (its secret is not shown)",
        )
        for line in lines:
            self.stdout.write(f"  {line}")
        self.stdout.write(f"Enqueued {len(demo.jobs)} demo jobs.")
