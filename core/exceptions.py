"""Exceptions raised by the queue API."""


class QueueError(Exception):
    """Base class of every error the queue API raises."""


class InvalidJobError(QueueError, ValueError):
    """A job's fields (or an edit, or a filter) are invalid; nothing was written."""


class JobNotFound(QueueError, LookupError):
    """No job has the given id."""


class JobStateError(QueueError):
    """The job's status forbids the requested change; nothing was written."""


class TokenNotFound(QueueError, LookupError):
    """No wait token has the given id."""


class StepError(QueueError):
    """A durable step was used wrongly (say, the same step name twice in one run)."""


class InvalidScheduleError(QueueError, ValueError):
    """A cron schedule's expression, timezone or job template is invalid; nothing was written."""


class ScheduleNotFound(QueueError, LookupError):
    """No cron schedule has the given name."""


class InvalidPolicyError(QueueError, ValueError):
    """A queue or channel policy (name, limit, period, interval) is invalid; nothing was written."""


class PolicyNotFound(QueueError, LookupError):
    """No queue or channel policy has the given name."""


class InvalidStreamError(QueueError, ValueError):
    """A topic, partition, offset, group or message is invalid; nothing was written."""


class TopicNotFound(QueueError, LookupError):
    """No topic has the given name."""


class SubscriptionNotFound(QueueError, LookupError):
    """No push subscription has the given name."""


class InvalidWorkerOrderError(QueueError, ValueError):
    """An order to workers (its name, worker ids or user) is invalid; nothing was written."""


class NotificationsUnavailable(QueueError, NotImplementedError):
    """The database sends no job notifications (they need PostgreSQL's LISTEN/NOTIFY)."""


class JobFailed(QueueError):
    """The job failed for good (``core.queue.call``, ``Job.wait(raise_on_failure=True)``).

    ``job`` is the job as it ended; ``error`` its last error entry (a dict with
    ``message``, ``type``, ``traceback``, ``attempt`` and ``reason``), or None.
    """

    def __init__(self, job, error: dict | None = None) -> None:
        self.job = job
        self.error = error
        if error:
            what = f"{error.get('type') or 'Error'}: {error.get('message', '')}"
            attempt = f" (attempt {error['attempt']})" if error.get("attempt") is not None else ""
        else:
            what, attempt = "no error recorded", ""
        super().__init__(f"job {job.pk} ({job.job_type}) failed{attempt}: {what}")

    def __reduce__(self):
        return type(self), (self.job, self.error)

    @property
    def message(self) -> str:
        return (self.error or {}).get("message", "")

    @property
    def type(self) -> str:
        return (self.error or {}).get("type", "")

    @property
    def traceback(self) -> str:
        return (self.error or {}).get("traceback", "")

    @property
    def attempt(self) -> int | None:
        return (self.error or {}).get("attempt")


class JobCancelled(JobFailed):
    """The job was cancelled before it completed (``error``: its last error, if any)."""

    def __init__(self, job, error: dict | None = None) -> None:
        super().__init__(job, error)
        QueueError.__init__(self, f"job {job.pk} ({job.job_type}) was cancelled")


class LockLost(QueueError):
    """A job leased by ``dequeue`` is no longer held by that lease (it expired and the job
    was reclaimed, an operator cancelled it, or the lease already finished it)."""
