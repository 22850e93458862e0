"""django.tasks on queueadmin: core.backend.QueueBackend."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.tasks import TaskResultStatus, task_backends
from django.tasks.exceptions import InvalidTask, TaskResultDoesNotExist
from django.tasks.signals import task_enqueued, task_finished, task_started
from django.utils import timezone

from core import queue
from core.backend import QueueBackend
from core.models import Job, JobStatus
from tests import tasks
from tests.workers import run_burst

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_default_backend_is_queueadmin_and_supports_everything():
    backend = task_backends["default"]
    assert isinstance(backend, QueueBackend)
    assert backend.supports_defer
    assert backend.supports_async_task
    assert backend.supports_get_result
    assert backend.supports_priority


def test_enqueue_stores_a_job_and_returns_a_ready_result():
    result = tasks.add.enqueue(2, 3)
    job = Job.objects.get(pk=int(result.id))
    assert job.job_type == "task:tests.tasks.add"
    assert job.payload == {"args": [2, 3], "kwargs": {}}
    assert result.status == TaskResultStatus.READY
    assert (result.args, result.kwargs) == ([2, 3], {})


def test_a_worker_runs_the_task_and_get_result_reports_success():
    result = tasks.add.enqueue(2, b=3)
    run_burst()
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 5
    assert len(result.worker_ids) == 1
    assert result.started_at
    assert result.finished_at
    assert tasks.add.get_result(result.id).return_value == 5


def test_priority_queue_and_run_after_are_honoured():
    later = timezone.now() + timedelta(hours=1)
    result = tasks.add.using(priority=7, run_after=later).enqueue(1, 1)
    job = Job.objects.get(pk=int(result.id))
    assert (job.priority, job.queue, job.run_at) == (7, "default", later)


def test_an_unknown_queue_is_refused():
    with pytest.raises(InvalidTask, match="not valid"):
        tasks.add.using(queue_name="nope").enqueue(1, 2)


def test_queue_options_come_from_the_task_declaration():
    result = tasks.with_options.enqueue()
    job = Job.objects.get(pk=int(result.id))
    assert (job.max_attempts, job.timeout, job.tags) == (5, 30.0, ["django"])


def test_failures_are_reported_with_class_path_and_traceback():
    result = tasks.fail.using().enqueue()
    Job.objects.filter(pk=int(result.id)).update(max_attempts=1)
    run_burst()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    [error] = result.errors
    assert error.exception_class is ValueError
    assert "task failed" in error.traceback


def test_context_tasks_get_the_attempt_and_the_job_context():
    result = tasks.with_context.enqueue(3)
    run_burst()
    result.refresh()
    assert result.return_value == {"attempt": 1, "result_id": result.id, "steps": 3}


def test_async_tasks_run_on_the_worker():
    result = tasks.async_add.enqueue(20, 22)
    run_burst()
    result.refresh()
    assert result.return_value == 42


def test_signals_are_sent_for_enqueue_start_and_finish():
    seen = []

    def record(signal_name):
        def receiver(sender, task_result, **kwargs):
            seen.append((signal_name, task_result.status))

        return receiver

    receivers = {name: record(name) for name in ("enqueued", "started", "finished")}
    task_enqueued.connect(receivers["enqueued"])
    task_started.connect(receivers["started"])
    task_finished.connect(receivers["finished"])
    try:
        tasks.add.enqueue(1, 2)
        run_burst()
    finally:
        task_enqueued.disconnect(receivers["enqueued"])
        task_started.disconnect(receivers["started"])
        task_finished.disconnect(receivers["finished"])
    assert seen == [
        ("enqueued", TaskResultStatus.READY),
        ("started", TaskResultStatus.RUNNING),
        ("finished", TaskResultStatus.SUCCESSFUL),
    ]


def test_an_unknown_result_id_raises():
    with pytest.raises(TaskResultDoesNotExist):
        task_backends["default"].get_result("999999")


def run_async(function):
    """Run an async function to its end in a thread of its own (the browser tests'
    Playwright may have left an event loop running in this one)."""

    async def then_close():
        try:
            return await function()
        finally:  # the connection sync_to_async opened in its thread, or it outlives the suite
            await sync_to_async(connections.close_all)()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, then_close()).result()


def test_aenqueue_and_aget_result_work_from_async_code():
    async def enqueue_then_read():
        result = await tasks.add.aenqueue(4, 5)
        again = await tasks.add.aget_result(result.id)
        return result, again

    result, again = run_async(enqueue_then_read)
    assert Job.objects.get(pk=int(result.id)).payload == {"args": [4, 5], "kwargs": {}}
    assert (again.id, again.status) == (result.id, TaskResultStatus.READY)
    run_burst()

    async def refresh():
        await result.arefresh()

    run_async(refresh)
    assert (result.status, result.return_value) == (TaskResultStatus.SUCCESSFUL, 9)


def test_a_task_deferred_with_run_after_does_not_run_before_it():
    result = tasks.add.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(1, 2)
    run_burst()
    result.refresh()
    assert result.status == TaskResultStatus.READY


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (JobStatus.PENDING, TaskResultStatus.READY),
        (JobStatus.WAITING, TaskResultStatus.READY),
        (JobStatus.PROCESSING, TaskResultStatus.RUNNING),
        (JobStatus.CANCELLED, TaskResultStatus.FAILED),
        (JobStatus.FAILED, TaskResultStatus.FAILED),
    ],
)
def test_job_statuses_map_to_task_result_statuses(status, expected):
    result = tasks.add.enqueue(1, 2)
    Job.objects.filter(pk=int(result.id)).update(status=status)
    result.refresh()
    assert result.status == expected


def test_each_attempt_has_its_worker_id_and_error():
    result = tasks.flaky.enqueue()
    run_burst()
    result.refresh()
    assert (result.status, result.return_value) == (TaskResultStatus.SUCCESSFUL, 2)
    assert len(result.worker_ids) == 2
    assert all(result.worker_ids)
    [error] = result.errors
    assert error.exception_class is RuntimeError


def test_a_job_that_is_not_a_task_has_no_result():
    job = queue.enqueue("report.build")
    with pytest.raises(TaskResultDoesNotExist):
        task_backends["default"].get_result(str(job.pk))
