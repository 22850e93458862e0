"""``django.tasks`` on queueadmin: ``@task`` functions become jobs run by ``runworker``.

Settings name it as ``core.backend.QueueBackend``, which re-exports this module.

TASKS = {"default": {"BACKEND": "core.backend.QueueBackend", "QUEUES": ["default"]}}

A task's job type is ``task:<module path of the task>``; its payload holds the
args and kwargs. Queue options (max_attempts, retry_delay, retry_backoff,
retry_delay_max, timeout, tags, idempotency_key) can be set on ``@task(...)``.
"""

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.tasks import TaskResultStatus
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import Task, TaskContext, TaskError, TaskResult
from django.tasks.exceptions import TaskResultDoesNotExist
from django.tasks.signals import task_enqueued, task_finished, task_started
from django.utils.json import normalize_json
from django.utils.module_loading import import_string

from core.durable import registry
from core.jobs.enqueue import enqueue
from core.models import EventType, Job, JobEvent, JobStatus

#: Job type prefix of django.tasks jobs.
PREFIX = "task:"

#: Job statuses as django.tasks result statuses.
STATUSES = {
    JobStatus.PENDING: TaskResultStatus.READY,
    JobStatus.WAITING: TaskResultStatus.READY,
    JobStatus.PROCESSING: TaskResultStatus.RUNNING,
    JobStatus.COMPLETED: TaskResultStatus.SUCCESSFUL,
    JobStatus.FAILED: TaskResultStatus.FAILED,
    JobStatus.CANCELLED: TaskResultStatus.FAILED,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueTask(Task):
    """A django.tasks Task with queueadmin's per-job options."""

    max_attempts: int | None = None
    #: The spans of time are durations: seconds, a timedelta or text such as "15m".
    retry_delay: float | str | timedelta | None = None
    retry_backoff: str | None = None
    retry_delay_max: float | str | timedelta | None = None
    timeout: float | str | timedelta | None = None
    tags: tuple[str, ...] = ()
    idempotency_key: str | None = None

    def options(self) -> dict[str, Any]:
        """The queueadmin enqueue options this task sets."""
        names = ("max_attempts", "retry_delay", "retry_backoff", "retry_delay_max", "timeout")
        options = {n: getattr(self, n) for n in names if getattr(self, n) is not None}
        if self.tags:
            options["tags"] = list(self.tags)
        if self.idempotency_key:
            options["idempotency_key"] = self.idempotency_key
        return options

    def using(self, *, priority=None, queue_name=None, run_after=None, backend=None, **options):
        """A copy with other defaults; also takes queueadmin options (tags, timeout...)."""
        task = Task.using(
            self, priority=priority, queue_name=queue_name, run_after=run_after, backend=backend
        )
        return dataclasses.replace(task, **options) if options else task


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueContext(TaskContext):
    """django.tasks' TaskContext, plus the queueadmin job context as ``job``."""

    #: The queueadmin JobContext: set_progress, run, wait_for, tokens...
    job: Any


class QueueBackend(BaseTaskBackend):
    """Runs django.tasks Tasks as queueadmin jobs."""

    task_class = QueueTask
    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    def enqueue(self, task: Task, args, kwargs) -> TaskResult:
        self.validate_task(task)
        options = task.options() if isinstance(task, QueueTask) else {}
        job = enqueue(
            PREFIX + task.module_path,
            {"args": normalize_json(list(args)), "kwargs": normalize_json(dict(kwargs))},
            queue=task.queue_name,
            priority=task.priority,
            run_at=task.run_after,
            **options,
        )
        result = result_of(job, task, self.alias)
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        try:
            job = Job.objects.get(pk=int(result_id), job_type__startswith=PREFIX)
        except (Job.DoesNotExist, ValueError, TypeError):
            raise TaskResultDoesNotExist(result_id) from None
        return result_of(job, _task(job.job_type), self.alias)


def _task(job_type: str) -> Task:
    task = import_string(job_type.removeprefix(PREFIX))
    if not isinstance(task, Task):
        raise TypeError(f"{job_type!r} is not a django.tasks Task")
    return task


def _error(entry: dict) -> TaskError:
    path = entry.get("type") or "Exception"
    return TaskError(
        exception_class_path=path if "." in path else f"builtins.{path}",
        traceback=entry.get("traceback") or entry.get("message", ""),
    )


def result_of(job: Job, task: Task, alias: str, worker_ids: list[str] | None = None) -> TaskResult:
    """The TaskResult of a job (one worker id per attempt, from its events)."""
    if worker_ids is None:
        worker_ids = [
            meta.get("worker", "")
            for meta in JobEvent.objects.filter(job_id=job.pk, type=EventType.PROCESSING)
            .order_by("id")
            .values_list("metadata", flat=True)
        ]
    finished = job.completed_at or job.failed_at or job.cancelled_at
    result = TaskResult(
        task=task,
        id=str(job.pk),
        status=STATUSES[job.status],
        enqueued_at=job.created_at,
        started_at=job.started_at,
        finished_at=finished if job.is_finished else None,
        last_attempted_at=job.started_at,
        args=(job.payload or {}).get("args", []),
        kwargs=(job.payload or {}).get("kwargs", {}),
        backend=alias,
        errors=[_error(entry) for entry in job.errors or []],
        worker_ids=worker_ids,
    )
    if job.status == JobStatus.COMPLETED:
        object.__setattr__(result, "_return_value", job.output)
    return result


def _resolve(job_type: str):
    """Handler for ``task:`` job types: run the Task, sending the framework's signals."""
    if not job_type.startswith(PREFIX):
        return None
    try:
        task = _task(job_type)
    except (ImportError, TypeError, ValueError):
        return None

    def run(payload, ctx):
        job = Job.objects.get(pk=ctx.job_id)
        workers = [""] * (ctx.attempt - 1) + [ctx.worker_id]
        result = result_of(job, task, task.backend, worker_ids=workers)
        object.__setattr__(result, "status", TaskResultStatus.RUNNING)
        sender = type(task.get_backend())
        task_started.send(sender, task_result=result)
        args, kwargs = payload.get("args", []), payload.get("kwargs", {})
        try:
            if task.takes_context:
                value = task.call(QueueContext(task_result=result, job=ctx), *args, **kwargs)
            else:
                value = task.call(*args, **kwargs)
        except Exception:
            object.__setattr__(result, "status", TaskResultStatus.FAILED)
            task_finished.send(sender, task_result=result)
            raise
        object.__setattr__(result, "status", TaskResultStatus.SUCCESSFUL)
        object.__setattr__(result, "_return_value", normalize_json(value))
        task_finished.send(sender, task_result=result)
        return normalize_json(value)

    return run


registry.add_resolver(_resolve)
