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
