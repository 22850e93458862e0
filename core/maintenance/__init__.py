"""Maintenance: periodic tasks that keep the queue healthy, one worker at a time each.

Workers call ``run_due`` on every heartbeat; ``manage.py queue_maintenance``
calls ``run_all``. One module per task (reclaim, wake, expire_tokens,
prune_jobs, prune_workers, rollup); ``locks`` makes sure only one worker runs a task
at a time, through its MaintenanceTask row. May import ``scheduling``, ``streams``,
``jobs``, ``durable``, the drivers and below; not the worker that runs it.
"""

from core.maintenance.base import Result, Task, TaskRun
from core.maintenance.runner import TASKS, default_time_limit, run_all, run_due

__all__ = ["TASKS", "Result", "Task", "TaskRun", "default_time_limit", "run_all", "run_due"]
