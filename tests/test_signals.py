"""Job lifecycle signals: job_enqueued after the insert commits, job_started and
job_finished once per attempt in the worker process, receivers that raise."""

import logging
import os
import threading

import pytest
from django.db import connection, transaction

from core import queue, signals
from core.durable import waits
from core.models import Job
from tests.workers import BackgroundWorker, run_burst, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SIGNALS = {
    "job_enqueued": signals.job_enqueued,
    "job_started": signals.job_started,
    "job_finished": signals.job_finished,
}


@pytest.fixture
def connect():
    """``connect(signal, receiver)``: connected for this test only."""
    connected = []

    def connect(signal, receiver):
        signal.connect(receiver, weak=False)
        connected.append((signal, receiver))

    yield connect
    for signal, receiver in connected:
        signal.disconnect(receiver)


@pytest.fixture
def sent(connect):
    """Every lifecycle signal sent during the test: dicts of ``signal``, ``sender``,
    ``pid`` and the keyword arguments, in the order they were sent."""
    calls = []
    lock = threading.Lock()

    def recorder(name):
        def receive(signal, sender, **kwargs):
            with lock:
                calls.append({"signal": name, "sender": sender, "pid": os.getpid(), **kwargs})

        return receive

    for name, signal in SIGNALS.items():
        connect(signal, recorder(name))
    return calls


def of(calls, name):
    return [call for call in calls if call["signal"] == name]


def attempts(calls):
    """(signal, attempt, outcome) of the worker's signals, in order."""
    return [
        (call["signal"], call["attempt"], call.get("outcome"))
        for call in calls
        if call["signal"] != "job_enqueued"
    ]


def fresh(job) -> Job:
    return Job.objects.get(pk=job.pk)


# -- job_enqueued ---------------------------------------------------------------------


def test_enqueue_sends_job_enqueued_once_with_the_new_job(sent):
    job = queue.enqueue("test.echo", {"n": 1}, queue="mail")
    [call] = of(sent, "job_enqueued")
    assert call["sender"] is Job
    assert call["job"] is job
    assert (call["job"].pk, call["job"].queue, call["job"].status) == (job.pk, "mail", "pending")


def test_enqueue_many_sends_job_enqueued_once_per_new_job(sent):
    jobs = queue.enqueue_many([{"job_type": "test.echo", "payload": {"n": i}} for i in range(5)])
    assert [call["job"].pk for call in of(sent, "job_enqueued")] == [job.pk for job in jobs]


def test_a_deduplicated_job_sends_no_job_enqueued(sent):
    first = queue.enqueue("test.echo", idempotency_key="k1")
    again = queue.enqueue("test.echo", idempotency_key="k1")
    jobs = queue.enqueue_many(
        [
            {"job_type": "test.echo", "idempotency_key": "k1"},
            {"job_type": "test.echo", "idempotency_key": "k2"},
            {"job_type": "test.echo", "idempotency_key": "k2"},
        ]
    )
    assert (again.deduplicated, jobs[0].deduplicated, jobs[0].pk) == (True, True, first.pk)
    assert jobs[2] is jobs[1]  # a key repeated within one call: one job
    assert [call["job"].pk for call in of(sent, "job_enqueued")] == [first.pk, jobs[1].pk]


def _enqueue_then_roll_back():
    with transaction.atomic():
        queue.enqueue("test.echo")
        queue.enqueue_many([{"job_type": "test.echo"}] * 3)
        raise RuntimeError("roll back")


def test_a_rolled_back_enqueue_sends_no_job_enqueued(sent):
    with pytest.raises(RuntimeError, match="roll back"):
        _enqueue_then_roll_back()
    assert Job.objects.count() == 0
    assert of(sent, "job_enqueued") == []


def test_job_enqueued_is_sent_after_the_transaction_commits(sent, connect):
    in_transaction = []
    connect(
        signals.job_enqueued,
        lambda sender, **kw: in_transaction.append(connection.in_atomic_block),
    )
    with transaction.atomic():
        job = queue.enqueue("test.echo")
        assert of(sent, "job_enqueued") == []
    assert [call["job"].pk for call in of(sent, "job_enqueued")] == [job.pk]
    assert in_transaction == [False]


def test_job_enqueued_is_sent_for_a_dead_letter_job(sent):
    job = queue.enqueue("test.fail", max_attempts=1, dead_letter_job_type="test.dead")
    run_burst()
    dead = Job.objects.get(job_type="test.dead")
    assert [call["job"].pk for call in of(sent, "job_enqueued")] == [job.pk, dead.pk]


def test_enqueue_defers_no_callback_while_no_receiver_is_connected(
    django_capture_on_commit_callbacks,
):
    with transaction.atomic(), django_capture_on_commit_callbacks() as callbacks:
        queue.enqueue_many([{"job_type": "test.echo"}] * 3)
    assert callbacks == []


def test_a_raising_job_enqueued_receiver_is_logged_and_the_job_stays(sent, connect, caplog):
    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    connect(signals.job_enqueued, broken)
    with caplog.at_level(logging.ERROR, logger="queueadmin.signals"):
        job = queue.enqueue("test.echo")
    assert fresh(job).status == "pending"
    assert len(of(sent, "job_enqueued")) == 1  # the other receiver still ran
    [record] = [r for r in caplog.records if r.name == "queueadmin.signals"]
    assert "job_enqueued" in record.getMessage()
    assert "receiver bug" in record.getMessage()


# -- job_started / job_finished ---------------------------------------------------------


def test_a_completed_attempt_sends_started_then_finished_completed(sent):
    job = queue.enqueue("test.echo", {"hello": "world"}, queue="mail")
    worker = run_burst(queues=["mail"], worker_id="w-signals")
    started, finished = of(sent, "job_started"), of(sent, "job_finished")
    common = {
        "sender": Job,
        "job_id": job.pk,
        "job_type": "test.echo",
        "queue": "mail",
        "attempt": 1,
        "worker_id": worker.worker_id,
        "pid": os.getpid(),
    }
    assert started == [{"signal": "job_started", **common}]
    assert finished == [
        {
            "signal": "job_finished",
            **common,
            "outcome": "completed",
            "output": {"hello": "world"},
            "error": None,
        }
    ]


def test_a_retried_then_completed_job_sends_one_pair_per_attempt(sent):
    job = queue.enqueue("test.fail_once", retry_delay=0)
    run_burst()
    assert fresh(job).status == "completed"
    assert attempts(sent) == [
        ("job_started", 1, None),
        ("job_finished", 1, "retrying"),
        ("job_started", 2, None),
        ("job_finished", 2, "completed"),
    ]
    retrying, completed = of(sent, "job_finished")
    assert retrying["error"] == fresh(job).errors[0]
    assert retrying["error"]["message"] == "first attempt fails"
    assert retrying["output"] is None
    assert (completed["output"], completed["error"]) == ({"attempt": 2}, None)


def test_a_job_failing_for_good_sends_failed_with_its_error(sent):
    job = queue.enqueue("test.fail", {"message": "kaput"}, max_attempts=1)
    run_burst()
    [finished] = of(sent, "job_finished")
    assert (finished["outcome"], finished["output"]) == ("failed", None)
    assert finished["error"] == fresh(job).errors[0]
    assert {k: finished["error"][k] for k in ("type", "message", "reason")} == {
        "type": "ValueError",
        "message": "kaput",
        "reason": "handler_error",
    }
    assert "traceback" in finished["error"]


def test_a_job_without_handler_sends_started_and_failed(sent):
    queue.enqueue("test.nobody_handles_this")
    run_burst()
    assert attempts(sent) == [("job_started", 1, None), ("job_finished", 1, "failed")]
    assert of(sent, "job_finished")[0]["error"]["reason"] == "no_handler"


def test_a_durable_wait_sends_waiting_then_the_resumed_run_completes(sent):
    job = queue.enqueue("test.nap")
    run_burst()
    assert fresh(job).status == "waiting"
    assert attempts(sent) == [("job_started", 1, None), ("job_finished", 1, "waiting")]
    waits.wake_due()
    run_burst()
    assert attempts(sent)[2:] == [("job_started", 1, None), ("job_finished", 1, "completed")]
    assert [call["output"] for call in of(sent, "job_finished")] == [None, "rested"]


def test_a_deferred_run_sends_deferred(sent):
    queue.enqueue("test.defer", {"until": 2, "delay": 0})
    run_burst()
    assert [call["outcome"] for call in of(sent, "job_finished")] == ["deferred", "completed"]


def test_a_cancelled_running_job_sends_finished_cancelled(sent, tmp_path):
    marker = tmp_path / "started"
    job = queue.enqueue("test.cooperative", {"marker": str(marker)})
    with BackgroundWorker(lease=0.3):
        wait_for(marker.exists, message="handler start")
        queue.cancel_job(job.pk)
        wait_for(lambda: of(sent, "job_finished"), timeout=10, message="job_finished")
    assert attempts(sent) == [("job_started", 1, None), ("job_finished", 1, "cancelled")]
    [finished] = of(sent, "job_finished")
    assert (finished["output"], finished["error"]) == (None, None)
    assert fresh(job).status == "cancelled"


def test_a_job_given_back_at_shutdown_sends_released(sent, tmp_path):
    marker = tmp_path / "started"
    job = queue.enqueue("test.sleep", {"seconds": 1, "marker": str(marker)})
    with BackgroundWorker(grace=0.1):
        wait_for(marker.exists, message="handler start")
    assert attempts(sent) == [("job_started", 1, None), ("job_finished", 1, "released")]
    assert fresh(job).status == "pending"


def test_job_finished_is_sent_after_the_outcome_is_in_the_database(connect):
    seen = []

    def read_back(sender, job_id, **kwargs):
        row = Job.objects.get(pk=job_id)
        seen.append((kwargs["outcome"], row.status, row.output, len(row.errors)))

    connect(signals.job_finished, read_back)
    queue.enqueue("test.fail_once", retry_delay=0)
    run_burst()
    (retrying, status, output, errors), completed = seen
    # The retry is due at once: the worker may have claimed it again by the time the
    # receiver reads the row, but the first attempt's error is there either way.
    assert (retrying, output, errors) == ("retrying", None, 1)
    assert status in ("pending", "processing")
    assert completed == ("completed", "completed", {"attempt": 2}, 1)


def test_a_raising_receiver_does_not_lose_the_outcome_and_is_logged(sent, connect, caplog):
    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    connect(signals.job_started, broken)
    connect(signals.job_finished, broken)
    with caplog.at_level(logging.ERROR, logger="queueadmin.signals"):
        jobs = [queue.enqueue("test.echo", {"n": n}) for n in range(3)]
        run_burst()
    assert [(fresh(job).status, fresh(job).output) for job in jobs] == [
        ("completed", {"n": n}) for n in range(3)
    ]
    assert [call["outcome"] for call in of(sent, "job_finished")] == ["completed"] * 3
    logged = [r.getMessage() for r in caplog.records if r.name == "queueadmin.signals"]
    assert sum("job_started" in m and "receiver bug" in m for m in logged) == 3
    assert sum("job_finished" in m and "receiver bug" in m for m in logged) == 3


def test_nothing_is_sent_while_no_receiver_is_connected(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("send() called with no receiver connected")

    monkeypatch.setattr(signals, "send", never)
    job = queue.enqueue("test.fail_once", retry_delay=0)
    run_burst()
    assert fresh(job).status == "completed"


# -- force_kill_on_timeout: the attempt runs in a child process --------------------------


def test_a_force_kill_job_sends_started_and_finished_from_the_worker_process(sent):
    job = queue.enqueue("test.echo", {"ok": 1}, timeout=30, force_kill_on_timeout=True)
    run_burst()
    assert attempts(sent) == [("job_started", 1, None), ("job_finished", 1, "completed")]
    assert {call["pid"] for call in sent} == {os.getpid()}
    assert of(sent, "job_finished")[0]["output"] == {"ok": 1}
    assert fresh(job).status == "completed"


def test_a_killed_force_kill_job_sends_finished_failed_with_the_timeout(sent):
    queue.enqueue("test.busy", timeout=1, force_kill_on_timeout=True, max_attempts=1)
    run_burst(concurrency=1, batch_size=1)
    assert attempts(sent) == [("job_started", 1, None), ("job_finished", 1, "failed")]
    assert of(sent, "job_finished")[0]["error"]["reason"] == "timeout"
