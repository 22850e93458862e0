"""Enqueue the small demo workload that `make run` shows moving."""

from django.core.management.base import BaseCommand

from core.demo.workload import enqueue_demo


class Command(BaseCommand):
    """Add a few jobs of each demo type (quick, slow with progress, flaky, scheduled)."""

    help = "Enqueue a small demo workload for the dashboard and worker."

    def handle(self, *args, **options):
        jobs = enqueue_demo()
        self.stdout.write(f"Enqueued {len(jobs)} demo jobs.")
