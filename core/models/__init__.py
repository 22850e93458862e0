"""queueadmin's tables, one module per concern."""

from core.models.jobs import EventType, Job, JobEvent, JobStatus, RetryBackoff
from core.models.waits import TokenStatus, WaitToken
from core.models.workers import Worker

__all__ = [
    "EventType",
    "Job",
    "JobEvent",
    "JobStatus",
    "RetryBackoff",
    "TokenStatus",
    "WaitToken",
    "Worker",
]
