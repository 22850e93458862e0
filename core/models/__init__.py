"""queueadmin's tables (``queueadmin_*``), one module per concern. Imports only
``conf`` and Django: the bottom of the app."""

from core.models.apikeys import ApiKey
from core.models.jobs import EventType, Job, JobEvent, JobStatus, RetryBackoff
from core.models.maintenance import MaintenanceTask
from core.models.policies import ChannelPolicy, Queue
from core.models.schedules import CronSchedule, CronStatus
from core.models.stats import JobStat, JobStatHour
from core.models.streams import ConsumerOffset, Message, Partition, Subscription, Topic
from core.models.waits import TokenStatus, WaitToken
from core.models.workers import DeathReason, Worker, WorkerDeath, WorkerOrder, WorkerState

__all__ = [
    "ApiKey",
    "ChannelPolicy",
    "ConsumerOffset",
    "CronSchedule",
    "CronStatus",
    "DeathReason",
    "EventType",
    "Job",
    "JobEvent",
    "JobStat",
    "JobStatHour",
    "JobStatus",
    "MaintenanceTask",
    "Message",
    "Partition",
    "Queue",
    "RetryBackoff",
    "Subscription",
    "TokenStatus",
    "Topic",
    "WaitToken",
    "Worker",
    "WorkerDeath",
    "WorkerOrder",
    "WorkerState",
]
