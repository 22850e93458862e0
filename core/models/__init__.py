"""queueadmin's tables, one module per concern."""

from core.models.jobs import EventType, Job, JobEvent, JobStatus, RetryBackoff

__all__ = ["EventType", "Job", "JobEvent", "JobStatus", "RetryBackoff"]
