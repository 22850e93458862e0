"""ctx.on_timeout asked at each deadline, durations in ctx.prolong/defer, throttled
``progress`` events (both databases, a real in-process worker)."""

import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from core import queue
from core.handlers import handler
from core.models import Job, JobEvent
from tests.records import event_types
from tests.workers import run_burst

pytestmark = pytest.mark.django_db(transaction=True)


def _asked(path: str) -> int:
    return len(Path(path).read_text().split()) if Path(path).exists() else 0


def _extending(payload):
    """An on_timeout callback giving ``extra`` more, ``times`` times, then declining."""

    def callback():
        with open(payload["log"], "a") as fh:
            fh.write("asked\n")
        return payload["extra"] if _asked(payload["log"]) <= payload["times"] else None

    return callback


@handler("durations.extend_polling")
def extend_polling(payload, ctx):
    """Run ``run`` seconds, asking should_abort (the handler's own thread asks the callback)."""
    ctx.on_timeout(_extending(payload))
    deadline = time.monotonic() + payload["run"]
    while time.monotonic() < deadline:
        if ctx.should_abort():
            raise RuntimeError("aborted")
        time.sleep(0.01)
    return "done"


@handler("durations.extend_sleeping")
def extend_sleeping(payload, ctx):
    """Sleep ``run`` seconds without asking: the worker's deadline check asks the callback."""
    ctx.on_timeout(_extending(payload))
    time.sleep(payload["run"])
    return "done"


@handler("durations.prolong_text")
def prolong_text(payload, ctx):
    ctx.prolong(payload["by"])
    time.sleep(payload["run"])
    return "done"


@handler("durations.progress")
def progress(payload, ctx):
    for value, pause in payload["steps"]:
        ctx.set_progress(value)
        time.sleep(pause)
    return "done"


def test_on_timeout_is_asked_at_each_deadline_until_it_declines_then_the_job_times_out(
    tmp_path,
):
    log = str(tmp_path / "asked")
    payload = {"log": log, "extra": 0.3, "times": 3, "run": 10}
    job = queue.enqueue("durations.extend_polling", payload, timeout=0.3, max_attempts=1)
    run_burst()
    job = Job.objects.get(pk=job.pk)
    assert _asked(log) == 4
    assert (job.status, job.errors[0]["reason"]) == ("failed", "timeout")
    assert event_types(job).count("prolonged") == 3


def test_on_timeout_extending_three_times_lets_a_job_finish_inside_the_third_extension(
    tmp_path,
):
    log = str(tmp_path / "asked")
    # Deadlines at 0.5, 1.0 and 1.5 s are each moved 0.5 s on; the job ends at 1.75 s.
    payload = {"log": log, "extra": 0.5, "times": 5, "run": 1.75}
    job = queue.enqueue("durations.extend_polling", payload, timeout=0.5, max_attempts=1)
    run_burst()
    job = Job.objects.get(pk=job.pk)
    assert (job.status, job.output) == ("completed", "done")
    assert _asked(log) == 3


def test_the_worker_asks_on_timeout_again_for_a_handler_that_never_checks(tmp_path):
    log = str(tmp_path / "asked")
    payload = {"log": log, "extra": "300ms", "times": 3, "run": 2.5}
    job = queue.enqueue("durations.extend_sleeping", payload, timeout=0.3, max_attempts=1)
    run_burst()
    job = Job.objects.get(pk=job.pk)
    assert _asked(log) == 4
    assert (job.status, job.errors[0]["reason"]) == ("failed", "timeout")
    assert event_types(job).count("prolonged") == 3


def test_prolong_takes_a_duration_string():
    job = queue.enqueue("durations.prolong_text", {"by": "800ms", "run": 0.5}, timeout=0.3)
    run_burst()
    job = Job.objects.get(pk=job.pk)
    assert (job.status, job.output) == ("completed", "done")
    [event] = JobEvent.objects.filter(job_id=job.pk, type="prolonged")
    assert event.metadata["seconds"] == 0.8


def _progress_events(job) -> list[int]:
    events = JobEvent.objects.filter(job_id=job.pk, type="progress").order_by("id")
    return [event.metadata["progress"] for event in events]


def test_progress_writes_the_first_change_then_at_most_one_event_per_interval():
    steps = [[10, 0], [20, 0], [30, 0.4], [30, 0], [60, 0]]
    options = {**settings.QUEUEADMIN, "PROGRESS_INTERVAL": 0, "PROGRESS_EVENT_INTERVAL": 0.3}
    with override_settings(QUEUEADMIN=options):
        job = queue.enqueue("durations.progress", {"steps": steps})
        run_burst()
    # 10 (the first), 20 too soon, 30 after the interval, 30 again unchanged, 60 too soon.
    assert _progress_events(job) == [10, 30]


def test_progress_events_can_be_turned_off():
    options = {**settings.QUEUEADMIN, "PROGRESS_EVENT_INTERVAL": None}
    with override_settings(QUEUEADMIN=options):
        job = queue.enqueue("durations.progress", {"steps": [[50, 0]]})
        run_burst()
    assert Job.objects.get(pk=job.pk).status == "completed"
    assert _progress_events(job) == []


def test_a_job_that_reports_no_progress_gets_no_progress_event():
    job = queue.enqueue("durations.progress", {"steps": []})
    run_burst()
    assert Job.objects.get(pk=job.pk).status == "completed"
    assert _progress_events(job) == []
