"""The demo workload of `make run`: a few jobs of each kind, so a new user sees them move."""

from datetime import timedelta

from django.utils import timezone

from core.models import Job
from core.queue import enqueue_many


def enqueue_demo() -> list[Job]:
    """Enqueue quick, slow (with progress), flaky (fails once) and scheduled jobs."""
    now = timezone.now()
    specs = [
        {"job_type": "demo.quick", "payload": {"name": name}, "tags": ["demo"]}
        for name in ("Ada", "Grace", "Linus", "Barbara", "Ken")
    ]
    specs += [
        {
            "job_type": "demo.slow",
            "payload": {"steps": 20, "step_seconds": 0.5 + i * 0.25},
            "tags": ["demo", "slow"],
            "priority": 5,
        }
        for i in range(3)
    ]
    specs += [
        {
            "job_type": "demo.flaky",
            "payload": {"succeed_on_attempt": 2},
            "retry_delay": 5,
            "tags": ["demo", "flaky"],
        }
        for _ in range(2)
    ]
    specs += [
        {
            "job_type": "demo.quick",
            "payload": {"name": f"later +{minutes}m"},
            "run_at": now + timedelta(minutes=minutes),
            "tags": ["demo", "scheduled"],
        }
        for minutes in (1, 2, 5)
    ]
    return enqueue_many(specs)
