"""Queue and channel policies kept by several real runworker processes.

Each test starts `manage.py runworker` subprocesses against the test database
(SQLite file or PostgreSQL) and checks a limit from what actually happened:
the jobs' ``started_at`` (the time the claim recorded) or the intervals the
handlers themselves measured (``test.interval``). Limits are checked exactly;
only the "it did run" checks are generous, for a loaded machine.
"""

import itertools
import json
import signal
import time
from datetime import timedelta

import pytest

from core import queue
from core.models import ChannelPolicy, Job, Queue
from tests.processes.conftest import finish
from tests.workers import start_runworker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

POLL = "0.05"
#: Clock rounding allowed on a release interval (the brief: 1 ms, no more).
EPSILON = timedelta(milliseconds=1)


@pytest.fixture
def workers(tmp_path):
    """``workers(count, *args)`` starts runworker processes (each logging to a file)
    and waits until they are serving;
    ``workers.stop()`` sends SIGTERM and returns their exit codes. The logs are
    printed at teardown, so a failing test shows them."""
    procs, logs = [], []

    def start(count: int, *args: str) -> None:
        for _ in range(count):
            path = tmp_path / f"worker-{len(procs)}.log"
            log = path.open("w")
            logs.append((path, log))
            procs.append(start_runworker("--poll-interval", POLL, "--grace", "10", *args, log=log))
        # Until a worker logs "started" its SIGTERM handler may not be installed yet.
        wait_for(
            lambda: all(" started\n" in path.read_text() for path, _ in logs),
            message="the workers to start",
        )

    def stop() -> list[int]:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        return [finish(proc) for proc in procs]

    start.stop = stop
    yield start
    stop()
    for path, log in logs:
        log.close()
        print(f"--- {path.name}\n{path.read_text()}")


def statuses(jobs) -> dict[int, str]:
    return dict(Job.objects.filter(pk__in=[j.pk for j in jobs]).values_list("pk", "status"))


def all_completed(jobs) -> bool:
    return set(statuses(jobs).values()) == {"completed"}


def intervals(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def max_overlap(spans: list[dict]) -> int:
    """Most intervals open at once (an end and a start at the same instant don't overlap)."""
    events = sorted([(s["start"], 1) for s in spans] + [(s["end"], -1) for s in spans])
    most = now = 0
    for _, delta in events:
        now += delta
        most = max(most, now)
    return most


def started_times(**filters) -> list:
    return sorted(Job.objects.filter(**filters).values_list("started_at", flat=True))


def test_a_paused_queue_runs_nothing_until_resumed(workers):
    Queue.objects.create(name="held", paused=True)
    held = [queue.enqueue("test.echo", {"n": n}, queue="held") for n in range(5)]
    free = [queue.enqueue("test.echo", {"n": n}, queue="open") for n in range(5)]
    workers(2, "-q", "held", "-q", "open")

    wait_for(lambda: all_completed(free), message="the open queue's jobs")
    time.sleep(2)  # 40 poll intervals
    assert set(statuses(held).values()) == {"pending"}
    assert not Job.objects.filter(queue="held", started_at__isnull=False).exists()

    Queue.objects.filter(name="held").update(paused=False)
    resumed = time.monotonic()
    wait_for(lambda: all_completed(held), timeout=10, message="the resumed queue's jobs")
    print(f"held jobs done {time.monotonic() - resumed:.2f}s after resume")
    assert workers.stop() == [0, 0]


def test_running_jobs_finish_when_their_queue_is_paused(workers):
    jobs = [queue.enqueue("test.sleep", {"seconds": 0.8}, queue="slow") for _ in range(6)]
    workers(2, "-q", "slow", "-c", "1")

    wait_for(
        lambda: Job.objects.filter(queue="slow", status="processing").count() == 2,
        message="two running jobs",
    )
    Queue.objects.update_or_create(name="slow", defaults={"paused": True})
    time.sleep(0.3)  # a claim that read the queue just before the pause may still land
    ever_started = Job.objects.filter(queue="slow", started_at__isnull=False)
    started = set(ever_started.values_list("pk", flat=True))
    assert 2 <= len(started) < 6

    wait_for(
        lambda: Job.objects.filter(pk__in=started, status="completed").count() == len(started),
        message="the running jobs to finish",
    )
    time.sleep(1.5)
    assert set(ever_started.values_list("pk", flat=True)) == started  # nothing new
    assert Job.objects.filter(queue="slow", status="pending").count() == 6 - len(started)

    Queue.objects.filter(name="slow").update(paused=False)
    wait_for(lambda: all_completed(jobs), timeout=20, message="the rest after resume")
    assert workers.stop() == [0, 0]


def test_queue_max_concurrency_is_never_exceeded(workers, tmp_path):
    Queue.objects.create(name="limited", max_concurrency=2)
    log = tmp_path / "intervals.jsonl"
    workers(3, "-q", "limited", "-c", "4")  # all three compete from the first job
    jobs = queue.enqueue_many(
        [
            {
                "job_type": "test.interval",
                "payload": {"file": str(log), "seconds": 0.15},
                "queue": "limited",
            }
            for _ in range(20)
        ]
    )

    wait_for(lambda: all_completed(jobs), timeout=60, message="20 jobs at 2 at a time")
    assert workers.stop() == [0, 0, 0]
    spans = intervals(log)
    assert sorted(s["id"] for s in spans) == sorted(j.pk for j in jobs)
    assert max_overlap(spans) == 2, spans
    print(f"workers that ran jobs: {len({s['pid'] for s in spans})}")


def test_queue_rate_limit_is_never_exceeded(workers):
    Queue.objects.create(name="rated", rate_limit=5, rate_period=1.0)
    workers(3, "-q", "rated", "-c", "4")
    jobs = queue.enqueue_many(
        [{"job_type": "test.echo", "payload": {"n": n}, "queue": "rated"} for n in range(20)]
    )

    wait_for(lambda: all_completed(jobs), timeout=60, message="20 jobs at 5 a second")
    assert workers.stop() == [0, 0, 0]
    starts = started_times(queue="rated")
    second = timedelta(seconds=1)
    # Starts in each window (t - 1 s, t], t being each start.
    counts = [sum(1 for s in starts if t - second < s <= t) for t in starts]
    print(f"starts per 1 s window: {counts}; span {(starts[-1] - starts[0]).total_seconds():.3f}s")
    assert max(counts) <= 5, [(s.isoformat(), c) for s, c in zip(starts, counts, strict=True)]
    assert max(counts) >= 4, counts  # throttled to the limit, not far below it
    assert (starts[-1] - starts[0]).total_seconds() >= 3.0


def test_a_small_channel_is_not_starved_by_a_big_one(workers, tmp_path):
    log = tmp_path / "order"
    big = queue.enqueue_many(
        [
            {
                "job_type": "test.record_order",
                "payload": {"file": str(log)},
                "queue": "fair",
                "channel": "big",
            }
            for _ in range(1000)
        ]
    )
    small = queue.enqueue_many(
        [
            {
                "job_type": "test.record_order",
                "payload": {"file": str(log)},
                "queue": "fair",
                "channel": f"small-{c}",
            }
            for c in range(9)
            for _ in range(10)
        ]
    )
    assert max(j.pk for j in big) < min(j.pk for j in small)
    workers(3, "-q", "fair", "-c", "4")

    wait_for(
        lambda: (
            all_completed(small)
            and Job.objects.filter(channel="big", status="completed").count() >= 100
        ),
        timeout=60,
        message="the small channels' jobs and 100 of the big one's",
    )
    assert workers.stop() == [0, 0, 0]
    # The order each worker ran its jobs in: a claim of many jobs takes turns between
    # the channels, so within a worker the small channels do not wait behind the big
    # one's jobs (across workers, one may run big jobs while another runs the small
    # ones). Its threads take jobs in claim order but may write their lines a little
    # out of order, so the check is on the first 90% of the small jobs.
    runs: dict[str, list[int]] = {}
    for line in log.read_text().splitlines():
        pid, pk = line.split()
        runs.setdefault(pid, []).append(int(pk))
    big_ids, small_ids = {j.pk for j in big}, {j.pk for j in small}
    for order in runs.values():
        smalls = [n for n, pk in enumerate(order) if pk in small_ids]
        bigs = [n for n, pk in enumerate(order) if pk in big_ids]
        if len(smalls) >= 10 and len(bigs) > 20:
            most = smalls[int(len(smalls) * 0.9) - 1]
            # 9 small channels beside one big: 9 turns of 10 hold 9 big jobs.
            before = sum(1 for n in bigs if n < most)
            assert before <= 20, f"{before} big-channel jobs ran before 90% of the small ones"


def test_a_channel_release_interval_spaces_its_starts(workers):
    ChannelPolicy.objects.create(name="paced", release_interval=0.3)
    specs = [
        {"job_type": "test.echo", "payload": {"n": n}, "queue": "spacing", "channel": channel}
        for channel in ("paced", "free")
        for n in range(6)
    ]
    workers(3, "-q", "spacing", "-c", "4")
    jobs = queue.enqueue_many(specs)

    wait_for(lambda: all_completed(jobs), timeout=30, message="both channels' jobs")
    assert workers.stop() == [0, 0, 0]
    paced = started_times(channel="paced")
    gaps = [b - a for a, b in itertools.pairwise(paced)]
    print(f"paced gaps: {[round(g.total_seconds(), 4) for g in gaps]}")
    assert min(gaps) >= timedelta(seconds=0.3) - EPSILON, [g.total_seconds() for g in gaps]
    free = started_times(channel="free")
    free_gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(free)]
    assert min(free_gaps) < 0.3, free_gaps  # not spaced
    assert free[-1] < paced[-1], "the channel without a policy waited for the paced one"


def test_channel_max_concurrency_is_never_exceeded(workers, tmp_path):
    ChannelPolicy.objects.create(name="serial", max_concurrency=1)
    serial_log, parallel_log = tmp_path / "serial.jsonl", tmp_path / "parallel.jsonl"
    specs = [
        {
            "job_type": "test.interval",
            "payload": {"file": str(path), "seconds": seconds},
            "queue": "channels",
            "channel": channel,
        }
        for channel, path, seconds in (
            ("serial", serial_log, 0.15),
            ("parallel", parallel_log, 0.3),
        )
        for _ in range(8)
    ]
    workers(3, "-q", "channels", "-c", "4")
    jobs = queue.enqueue_many(specs)

    wait_for(lambda: all_completed(jobs), timeout=60, message="both channels' jobs")
    assert workers.stop() == [0, 0, 0]
    serial, parallel = intervals(serial_log), intervals(parallel_log)
    assert (len(serial), len(parallel)) == (8, 8)
    assert max_overlap(serial) == 1, sorted((s["start"], s["end"]) for s in serial)
    print(f"overlap: serial {max_overlap(serial)}, parallel {max_overlap(parallel)}")
    assert max_overlap(parallel) >= 2  # the limit is the channel's, not the queue's
