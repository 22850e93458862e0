"""prune_events (EVENT_RETENTION), ages given by hand to reclaim, prune_jobs and
prune_events, and queue_maintenance's --…-older-than options (both databases)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core import maintenance, queue
from core.durations import InvalidDurationError
from core.models import EventType, Job, JobEvent
from tests.maintenance.conftest import run_task
from tests.records import set_status

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def _event(job, kind, age: timedelta) -> JobEvent:
    event = JobEvent.objects.create(job=job, type=kind, metadata={})
    JobEvent.objects.filter(pk=event.pk).update(at=timezone.now() - age)
    return event


def _types(job) -> list[str]:
    return [event.type for event in queue.job_events(job)]


@pytest.fixture
def history():
    """A pending job with an old edit, an old stored ``added`` row and a fresh edit."""
    job = queue.enqueue("x")
    _event(job, EventType.ADDED, 40 * DAY)
    _event(job, EventType.EDITED, 40 * DAY)
    _event(job, EventType.EDITED, timedelta(minutes=1))
    return job


def test_without_event_retention_events_stay(history):
    result = run_task("prune_events")
    assert result.counts == {"events": 0}
    assert JobEvent.objects.filter(job=history).count() == 3


def test_event_retention_deletes_old_events_of_jobs_that_stay_and_keeps_added(settings, history):
    settings.QUEUEADMIN = {**settings.QUEUEADMIN, "EVENT_RETENTION": "30d"}
    result = run_task("prune_events")
    assert result.counts == {"events": 1}
    assert Job.objects.filter(pk=history.pk).exists()
    assert _types(history) == ["edited", "added"]


def test_event_retention_walks_every_chunk(settings, chunk_of_3):
    settings.QUEUEADMIN = {**settings.QUEUEADMIN, "EVENT_RETENTION": 3600}
    job = queue.enqueue("x")
    for _ in range(7):
        _event(job, EventType.EDITED, 2 * DAY)
    _event(job, EventType.EDITED, timedelta(0))
    assert run_task("prune_events").counts == {"events": 7}
    assert JobEvent.objects.filter(job=job).count() == 1


def test_the_history_of_a_job_whose_events_were_all_pruned_still_starts_with_added(settings):
    settings.QUEUEADMIN = {**settings.QUEUEADMIN, "EVENT_RETENTION": 60}
    job = queue.enqueue("x")
    _event(job, EventType.EDITED, DAY)
    run_task("prune_events")
    assert _types(job) == ["added"]


def test_a_bad_event_retention_fails_the_task_naming_the_setting(settings):
    settings.QUEUEADMIN = {**settings.QUEUEADMIN, "EVENT_RETENTION": "a month"}
    result = run_task("prune_events")
    assert not result.ok
    assert "QUEUEADMIN['EVENT_RETENTION']" in result.summary


def test_prune_events_by_hand_takes_an_age(history):
    results = maintenance.run_all("me", ["prune_events"], older_than={"prune_events": "7d"})
    assert results["prune_events"].counts == {"events": 1}


def test_prune_jobs_by_hand_takes_an_age_in_place_of_the_settings(settings):
    settings.QUEUEADMIN = {**settings.QUEUEADMIN, "PRUNE_COMPLETED_AFTER": None}
    old, young = queue.enqueue("x"), queue.enqueue("x")
    set_status(old, "completed", completed_at=timezone.now() - 3 * DAY)
    set_status(young, "completed", completed_at=timezone.now() - timedelta(hours=1))
    maintenance.run_all("me", ["prune_jobs"], older_than={"prune_jobs": timedelta(days=2)})
    assert list(Job.objects.values_list("pk", flat=True)) == [young.pk]


def test_reclaim_by_hand_takes_back_processing_jobs_started_longer_ago_than_its_age():
    stuck, busy = queue.enqueue("x"), queue.enqueue("x")
    leased = timezone.now() + timedelta(minutes=10)
    fields = {"locked_by": "w1", "locked_until": leased, "attempts": 1}
    set_status(stuck, "processing", started_at=timezone.now() - timedelta(hours=2), **fields)
    set_status(busy, "processing", started_at=timezone.now() - timedelta(minutes=5), **fields)
    results = maintenance.run_all("me", ["reclaim"], older_than={"reclaim": "1h"})
    assert results["reclaim"].ok
    statuses = dict(Job.objects.values_list("pk", "status"))
    assert statuses[busy.pk] == "processing"
    assert statuses[stuck.pk] != "processing"


def test_an_age_for_a_task_that_takes_none_is_refused():
    with pytest.raises(ValueError, match="older_than: 'wake' takes no age"):
        maintenance.run_all("me", older_than={"wake": 60})


def test_a_bad_age_names_the_task():
    with pytest.raises(InvalidDurationError, match=r"older_than\[prune_jobs\]: \"soon\""):
        maintenance.run_all("me", older_than={"prune_jobs": "soon"})


def test_queue_maintenance_delete_options_count_bare_numbers_in_days(history):
    out = StringIO()
    call_command("queue_maintenance", "--delete-events-older-than", "30", stdout=out)
    assert out.getvalue().startswith("prune_events: deleted 1 event")
    assert "reclaim" not in out.getvalue()  # only the tasks given an age ran
    assert _types(history) == ["edited", "added"]


def test_queue_maintenance_reclaim_older_than_counts_minutes_and_takes_durations():
    job = queue.enqueue("x")
    set_status(
        job,
        "processing",
        started_at=timezone.now() - timedelta(minutes=45),
        locked_by="w1",
        locked_until=timezone.now() + timedelta(minutes=10),
        attempts=1,
    )
    call_command("queue_maintenance", "--reclaim-older-than", "60", stdout=StringIO())
    assert Job.objects.get(pk=job.pk).status == "processing"
    call_command("queue_maintenance", "--reclaim-older-than", "30m", stdout=StringIO())
    assert Job.objects.get(pk=job.pk).status != "processing"


def test_queue_maintenance_refuses_a_bad_age():
    with pytest.raises(CommandError, match="is not a duration"):
        call_command("queue_maintenance", "--delete-jobs-older-than", "soon")
