"""The demo workload of `make run` runs to completion on a worker."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.demo import handlers  # noqa: F401  registers the demo handlers
from core.models import Job
from tests.workers import run_burst

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_workload_has_each_kind_of_job_and_some_scheduled_later():
    call_command("enqueue_demo")
    types = set(Job.objects.values_list("job_type", flat=True))
    assert types == {"demo.quick", "demo.slow", "demo.flaky"}
    assert Job.objects.filter(run_at__gt=timezone.now()).count() == 3


def test_demo_jobs_that_are_due_all_complete(settings):
    settings.QUEUEADMIN = {"PROGRESS_INTERVAL": 0}
    call_command("enqueue_demo")
    Job.objects.filter(job_type="demo.slow").update(payload={"steps": 2, "step_seconds": 0.01})
    Job.objects.filter(job_type="demo.flaky").update(retry_delay=0)
    run_burst()
    done = Job.objects.filter(status="completed")
    assert done.filter(job_type="demo.slow").count() == 3
    assert [j.output for j in done.filter(job_type="demo.flaky")] == [
        {"succeeded_on_attempt": 2}
    ] * 2
    assert Job.objects.filter(status="pending", run_at__gt=timezone.now()).count() == 3
