"""The job each queue will start next, found through the claim indexes.

The claim takes a queue's pending jobs in the order of ``job_claim_idx``
(priority, then run_at, then id), and a channel's in the order of
``job_channel_idx``. The first due job in that order is one index probe per
queue, a hundred queues per statement (``due_heads``); which queues and
channels hold pending jobs is one probe each (``queue_heads``). Neither scans
the job table.
"""

from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet, Subquery

from core.models import Job, JobStatus

#: Queues (and, apart, channels) walked at most; past it the answer says ``truncated``.
MAX_KEYS = 1000
#: Queues looked up per statement for their next due job.
PER_QUERY = 100

CLAIM_ORDER = ("-priority", "run_at", "id")
_FIELDS = ("queue", "channel", "job_type", "run_at")

#: (run_at, job_type) of a queue's next due job.
Head = tuple[datetime, str]


@dataclass
class Heads:
    """Queues with pending jobs, and the due job each will start next."""

    #: Every queue with a pending job, due or not.
    queues: set[str] = field(default_factory=set)
    #: run_at and job type of the first due job in claim order, per queue (for a
    #: queue with channels, whichever of its own head and its channels' heads has
    #: waited longest).
    due: dict[str, Head] = field(default_factory=dict)
    #: True when more than MAX_KEYS queues or channels hold pending jobs.
    truncated: bool = False

    def lag(self, queue: str, now: datetime) -> float:
        """Seconds ``queue``'s next job is past its run_at (0 without a due job)."""
        head = self.due.get(queue)
        return max((now - head[0]).total_seconds(), 0.0) if head else 0.0

    def add(self, queue: str, head: Head) -> None:
        """Count ``head`` as a head of ``queue``; the one that waited longest wins."""
        current = self.due.get(queue)
        if current is None or head[0] < current[0]:
            self.due[queue] = head


def _pending(column: str) -> QuerySet:
    """Pending jobs claimed by ``column``: by queue those without a channel, by channel
    the others (the rows of job_claim_idx and job_channel_idx)."""
    return Job.objects.filter(status=JobStatus.PENDING, channel__isnull=column == "queue")


def due_heads(queues: list[str], now: datetime, column: str = "queue") -> dict[str, Head]:
    """The next due job (claim order) of each of ``queues`` that has one, by queue.

    ``column="channel"`` takes channel names and the channels' claim order instead
    (the answer is still keyed by channel).
    """
    pending = _pending(column)
    found: dict[str, Head] = {}
    for start in range(0, len(queues), PER_QUERY):
        firsts = [
            Q(
                pk=Subquery(
                    pending.filter(**{column: name}, run_at__lte=now)
                    .order_by(*CLAIM_ORDER)
                    .values("id")[:1]
                )
            )
            for name in queues[start : start + PER_QUERY]
        ]
        rows = Job.objects.filter(reduce(or_, firsts)).order_by()
        for key, run_at, job_type in rows.values_list(column, "run_at", "job_type"):
            found[key] = (run_at, job_type)
    return found


def _walk(pending: QuerySet, column: str, now: datetime, heads: Heads) -> dict[str, str]:
    """Add every ``column`` value's queue and due first job to ``heads``; return the
    values whose first job in claim order is not due yet, with their queue."""
    later: dict[str, str] = {}
    # Names are never empty, so starting after "" skips nothing; a range on the
    # index's first column also makes SQLite walk job_channel_idx rather than
    # job_status_idx.
    after = ""
    for _ in range(MAX_KEYS):
        rows = pending.filter(**{f"{column}__gt": after})
        row = rows.order_by(column, *CLAIM_ORDER).values(*_FIELDS).first()
        if row is None:
            return later
        after = row[column]
        heads.queues.add(row["queue"])
        if row["run_at"] > now:
            later[after] = row["queue"]
        else:
            heads.add(row["queue"], (row["run_at"], row["job_type"]))
    heads.truncated = True
    return later


def queue_heads(now: datetime) -> Heads:
    """Every queue with pending jobs (with or without a channel) and each one's next
    due job: one index probe per queue and per channel, plus one statement per
    hundred of those whose first job in claim order is not due yet."""
    heads = Heads()
    for column in ("queue", "channel"):
        later = _walk(_pending(column), column, now, heads)
        for name, head in due_heads(sorted(later), now, column).items():
            heads.add(later[name], head)
    return heads
