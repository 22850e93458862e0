"""Cron schedules: validation, fire times across DST, exactly-once enqueue, overlap."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from core import queue
from core.exceptions import InvalidScheduleError, ScheduleNotFound
from core.models import CronSchedule, Job
from core.scheduling import cron

pytestmark = pytest.mark.django_db


def local(text: str, zone: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def wall(times) -> list[str]:
    return [t.strftime("%Y-%m-%d %H:%M %z") for t in times]


# -- validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"expression": "61 * * * *"}, "expression: not a valid cron expression"),
        ({"expression": "* * * *"}, "expression"),
        ({"expression": "0 0 * * * *"}, "expression: needs exactly five fields"),
        ({"timezone": "Mars/Olympus"}, "timezone: unknown time zone"),
        ({"priority": 1000}, "priority"),
        ({"delay": 5}, "cannot set delay"),
        ({"payload": {"x": object()}}, "payload"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_schedules_are_refused_and_nothing_is_written(kwargs, message):
    args = {"name": "n", "expression": "*/5 * * * *", "job_type": "test.echo", **kwargs}
    with pytest.raises(InvalidScheduleError, match=message):
        cron.add_cron(args.pop("name"), args.pop("expression"), args.pop("job_type"), **args)
    assert CronSchedule.objects.count() == 0


def test_a_duplicate_name_is_refused():
    cron.add_cron("nightly", "0 3 * * *", "test.echo")
    with pytest.raises(InvalidScheduleError, match="exists already"):
        cron.add_cron("nightly", "0 4 * * *", "test.echo")


def test_add_computes_the_next_run_in_the_timezone():
    schedule = queue.add_cron("daily", "30 1 * * *", "test.echo", timezone="Europe/London")
    local_next = schedule.next_run_at.astimezone(ZoneInfo("Europe/London"))
    assert (local_next.hour, local_next.minute) == (1, 30)
    assert schedule.next_run_at > timezone.now()


def test_unknown_schedule_is_a_clear_error():
    with pytest.raises(ScheduleNotFound):
        queue.pause_cron("nope")


# -- DST ----------------------------------------------------------------------------


def test_fall_back_fixed_time_fires_once_in_london():
    times = cron.fire_times("30 1 * * *", "Europe/London", local("2025-10-25 12:00", "UTC"), 3)
    assert wall(times) == [
        "2025-10-26 01:30 +0100",
        "2025-10-27 01:30 +0000",
        "2025-10-28 01:30 +0000",
    ]


def test_fall_back_fixed_time_fires_once_in_new_york():
    times = cron.fire_times("30 1 * * *", "America/New_York", local("2025-11-01 12:00", "UTC"), 2)
    assert wall(times) == ["2025-11-02 01:30 -0400", "2025-11-03 01:30 -0500"]


def test_spring_forward_missing_time_fires_once_after_the_gap():
    times = cron.fire_times("30 2 * * *", "America/New_York", local("2025-03-08 12:00", "UTC"), 2)
    assert wall(times) == ["2025-03-09 03:00 -0400", "2025-03-10 02:30 -0400"]


def test_spring_forward_in_london():
    times = cron.fire_times("30 1 * * *", "Europe/London", local("2025-03-29 12:00", "UTC"), 2)
    assert wall(times) == ["2025-03-30 02:00 +0100", "2025-03-31 01:30 +0100"]


def test_hourly_schedule_keeps_firing_every_real_hour_through_fall_back():
    times = cron.fire_times("0 * * * *", "America/New_York", local("2025-11-02 04:30", "UTC"), 3)
    assert wall(times) == [
        "2025-11-02 01:00 -0400",
        "2025-11-02 01:00 -0500",
        "2025-11-02 02:00 -0500",
    ]


def test_lord_howe_half_hour_shifts():
    spring = cron.fire_times(
        "15 2 * * *", "Australia/Lord_Howe", local("2025-10-04 12:00", "UTC"), 2
    )
    assert wall(spring) == ["2025-10-05 02:30 +1100", "2025-10-06 02:15 +1100"]
    fall = cron.fire_times("45 1 * * *", "Australia/Lord_Howe", local("2025-04-05 00:00", "UTC"), 2)
    assert wall(fall) == ["2025-04-06 01:45 +1100", "2025-04-07 01:45 +1030"]


def test_describe_says_the_expression_in_words():
    assert cron.describe("30 1 * * 1-5") == "At 01:30, Monday through Friday"


# -- enqueueing -----------------------------------------------------------------------


def make_due(schedule, ago=timedelta(seconds=1)):
    CronSchedule.objects.filter(pk=schedule.pk).update(next_run_at=timezone.now() - ago)


def test_a_due_schedule_enqueues_its_job_once_and_moves_on():
    schedule = queue.add_cron(
        "every5", "*/5 * * * *", "test.echo", {"n": 1}, queue="cronq", priority=5, tags=["cron"]
    )
    make_due(schedule)
    [job] = cron.enqueue_due()
    assert (job.job_type, job.payload, job.queue, job.priority, job.tags) == (
        "test.echo",
        {"n": 1},
        "cronq",
        5,
        ["cron"],
    )
    assert cron.enqueue_due() == []  # next run is in the future now
    schedule.refresh_from_db()
    assert schedule.last_job_id == job.pk
    assert schedule.next_run_at > timezone.now()


def test_the_same_fire_time_never_makes_two_jobs():
    schedule = queue.add_cron("once", "*/5 * * * *", "test.echo", allow_overlap=True)
    make_due(schedule)
    fire = CronSchedule.objects.get(pk=schedule.pk).next_run_at
    [job] = cron.enqueue_due()
    # Another worker that read the schedule before the first one moved it on:
    CronSchedule.objects.filter(pk=schedule.pk).update(next_run_at=fire)
    assert cron.enqueue_due() == []
    assert Job.objects.count() == 1
    assert job.idempotency_key.startswith(f"cron:{schedule.pk}:")


def test_missed_fire_times_inside_the_catch_up_window_each_get_one_job(settings):
    settings.QUEUEADMIN = {"CRON_CATCHUP_SECONDS": 600}
    schedule = queue.add_cron("minutely", "* * * * *", "test.echo", allow_overlap=True)
    make_due(schedule, ago=timedelta(hours=3))  # 180 missed fire times
    now = timezone.now()  # one clock for both calls: no minute boundary crossed between
    jobs = cron.enqueue_due(now)
    assert cron.enqueue_due(now) == []
    fires = sorted(job.idempotency_key.rsplit(":", 3)[-3] for job in jobs)
    assert len(jobs) in (10, 11)  # the last 10 minutes
    assert len(set(fires)) == len(jobs)
    schedule.refresh_from_db()
    assert schedule.skipped == 181 - len(jobs)  # the older ones, and the first (unaligned)
    assert schedule.next_run_at > timezone.now()


def test_a_fire_time_missed_by_a_few_minutes_is_enqueued_with_every_one_after_it():
    schedule = queue.add_cron("minutely", "* * * * *", "test.echo", allow_overlap=True)
    now = timezone.now()
    fire = now.replace(second=0, microsecond=0) - timedelta(minutes=3)
    CronSchedule.objects.filter(pk=schedule.pk).update(next_run_at=fire)
    jobs = cron.enqueue_due(now)
    keys = [job.idempotency_key for job in jobs]
    expected = [fire + timedelta(minutes=n) for n in range(4)]
    assert keys == [f"cron:{schedule.pk}:{at.isoformat()}" for at in expected]


def test_catching_up_respects_no_overlap():
    schedule = queue.add_cron("slow", "* * * * *", "test.echo")  # allow_overlap False
    make_due(schedule, ago=timedelta(minutes=5))
    [job] = cron.enqueue_due()  # the first missed fire; the others would overlap it
    schedule.refresh_from_db()
    assert schedule.skipped >= 4
    assert schedule.last_job_id == job.pk


def test_without_overlap_a_fire_time_is_skipped_while_the_last_job_is_unfinished():
    schedule = queue.add_cron("slow", "0 0 1 1 *", "test.echo")  # one fire per make_due
    make_due(schedule)
    [first] = cron.enqueue_due()
    make_due(schedule)
    assert cron.enqueue_due() == []
    schedule.refresh_from_db()
    assert (schedule.skipped, schedule.last_job_id) == (1, first.pk)
    Job.objects.filter(pk=first.pk).update(status="completed")
    make_due(schedule)
    assert len(cron.enqueue_due()) == 1


def test_with_overlap_every_fire_time_enqueues():
    schedule = queue.add_cron("fast", "0 0 1 1 *", "test.echo", allow_overlap=True)
    for _ in range(2):
        make_due(schedule)
        cron.enqueue_due()
    assert Job.objects.filter(status="pending").count() == 2  # the first did not block


def test_paused_schedules_do_not_fire_and_resume_from_now():
    schedule = queue.add_cron("p", "* * * * *", "test.echo")
    queue.pause_cron("p")
    make_due(schedule)
    assert cron.enqueue_due() == []
    resumed = queue.resume_cron("p")
    assert resumed.status == "active"
    assert resumed.next_run_at > timezone.now()


def test_edit_recomputes_the_next_run_and_validates():
    queue.add_cron("e", "0 3 * * *", "test.echo")
    edited = queue.edit_cron("e", expression="15 4 * * *", queue="other")
    assert edited.next_run_at.astimezone(ZoneInfo("UTC")).strftime("%H:%M") == "04:15"
    assert edited.options["queue"] == "other"
    with pytest.raises(InvalidScheduleError, match="expression"):
        queue.edit_cron("e", expression="bad")
    assert queue.get_cron("e").expression == "15 4 * * *"


def test_run_now_enqueues_at_once_and_remove_deletes():
    queue.add_cron("r", "0 3 * * *", "test.echo", {"a": 1})
    job = queue.run_cron_now("r")
    assert (job.job_type, job.payload) == ("test.echo", {"a": 1})
    assert queue.get_cron("r").last_job_id == job.pk
    queue.remove_cron("r")
    assert queue.list_crons() == []
    assert Job.objects.filter(pk=job.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_racing_processes_enqueue_exactly_one_job_per_fire_time(tmp_path):
    import os
    import subprocess
    import sys
    import time

    from tests.workers import ROOT, database_url, wait_for

    schedule = queue.add_cron("race", "* * * * *", "test.echo", allow_overlap=True)
    start = schedule.next_run_at
    clock, stop = tmp_path / "clock", tmp_path / "stop"
    clock.write_text("")
    env = {**os.environ, "DATABASE_URL": database_url()}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.cron_racer", str(clock), str(stop)], cwd=ROOT, env=env
        )
        for _ in range(4)
    ]
    try:
        for minute in range(60):  # an hour of fake time, a minute at a time
            clock.write_text((start + timedelta(minutes=minute, seconds=1)).isoformat())
            # The clock moves on once this minute's job exists (a process fired
            # it), and after a little more time for the others to race for it.
            wait_for(lambda m=minute: Job.objects.count() >= m + 1, timeout=30)
            time.sleep(0.03)
    finally:
        stop.write_text("stop")
        for proc in procs:
            assert proc.wait(timeout=30) == 0
    keys = list(Job.objects.values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys)) == 60
    fired = sorted(datetime.fromisoformat(k.split(":", 2)[2]) for k in keys)
    assert fired == [start + timedelta(minutes=m) for m in range(60)]


@pytest.mark.django_db(transaction=True)
def test_a_running_worker_enqueues_and_runs_a_due_schedule():
    from tests.workers import BackgroundWorker, wait_for

    schedule = queue.add_cron("worker-fires", "* * * * *", "test.echo", {"hi": 1})
    make_due(schedule)
    with BackgroundWorker(lease=0.6):
        job = wait_for(lambda: Job.objects.filter(job_type="test.echo").first(), timeout=20)
        wait_for(lambda: Job.objects.get(pk=job.pk).status == "completed", timeout=20)
    assert CronSchedule.objects.get(pk=schedule.pk).last_job_id == job.pk


def test_an_expression_that_never_fires_is_refused():
    with pytest.raises(InvalidScheduleError, match="never fires"):
        queue.add_cron("feb30", "0 0 30 2 *", "test.echo")
    assert CronSchedule.objects.count() == 0


def test_timedelta_options_are_stored_as_seconds():
    schedule = queue.add_cron("td", "0 3 * * *", "test.echo", timeout=timedelta(seconds=5))
    assert schedule.options["timeout"] == 5.0


def test_a_schedule_whose_stored_options_are_refused_is_skipped_and_the_others_fire():
    bad = queue.add_cron("bad", "0 0 1 1 *", "test.echo")
    good = queue.add_cron("good", "0 0 1 1 *", "test.echo")
    CronSchedule.objects.filter(pk=bad.pk).update(options={"retry_delay": 1e12})
    make_due(bad)
    make_due(good)
    [job] = cron.enqueue_due()
    assert job.pk == CronSchedule.objects.get(pk=good.pk).last_job_id
    bad.refresh_from_db()
    assert (bad.skipped, bad.last_job_id) == (1, None)
    assert bad.next_run_at > timezone.now()
