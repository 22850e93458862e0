"""Prune streams: apply each topic's retention to its messages.

A topic with ``retention_seconds`` loses its messages older than that (by
``created_at``); one with ``retention_messages`` keeps only that many newest
messages per partition (those with offset > end - retention_messages). Both
may be set: a message goes when either rule says so. Topics without
retention are never looked at.

Offsets never change: the partition's next offset stays, so the offsets of
new messages continue after the pruned ones, and consumer groups keep their
committed offsets (a group behind the kept range fetches from the oldest
kept message, as fetch returns the offsets after the committed one).

Each partition is pruned from its oldest message on, one range of
BULK_CHUNK_SIZE offsets per DELETE (on the (topic, partition, offset)
index, no rows loaded), until the oldest message left is kept by both rules.
Messages of a partition are published in offset order, so they also grow
older with their offset: the oldest kept message marks the end of what is due.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q

from core import conf
from core.maintenance.base import Result, Task, TaskRun, done, plural
from core.models import Message, Partition


@dataclass
class _Partition:
    """A partition of a topic with retention, and its oldest message."""

    topic: str
    number: int
    #: Messages with offsets up to this are past the count limit (0: none).
    upto: int
    #: Messages created before this are past the age limit (None: no age limit).
    cutoff: datetime | None
    #: (offset, created_at) of the partition's oldest message; None: it is empty.
    oldest: tuple[int, datetime] | None = None

    def messages(self):
        return Message.objects.filter(topic_id=self.topic, partition=self.number)

    def look(self) -> bool:
        """Read the oldest message; True if it is past retention (more is due)."""
        self.oldest = self.messages().order_by("offset").values_list("offset", "created_at").first()
        if self.oldest is None:
            return False
        offset, created_at = self.oldest
        return offset <= self.upto or (self.cutoff is not None and created_at < self.cutoff)

    def prune_chunk(self, size: int) -> int:
        """Delete what is due among ``size`` offsets from the oldest message on;
        return how many went."""
        first = self.oldest[0]
        rule = Q(offset__lte=self.upto)  # none when upto is 0: offsets start at 1
        if self.cutoff is not None:
            rule |= Q(created_at__lt=self.cutoff)
        # One DELETE on the (topic, partition, offset) index, no rows loaded:
        # nothing points at messages.
        chunk = self.messages().filter(offset__gte=first, offset__lt=first + size)
        count, _ = chunk.filter(rule).order_by().delete()
        return count


def run(run: TaskRun) -> Result:
    """Delete every message past its topic's retention, a range of offsets per
    statement, partition by partition in turn, until done or out of time."""
    chunk = conf.get("BULK_CHUNK_SIZE")
    pending = [partition for partition in _partitions(run.now) if partition.look()]
    deleted, topics, more = 0, set(), False
    # Round robin: one chunk of each partition with messages due, then the next
    # chunk of each, so one big backlog does not hold up the other topics.
    while pending and not more:
        left = []
        for index, partition in enumerate(pending):
            count = partition.prune_chunk(chunk)
            deleted += count
            if count:
                topics.add(partition.topic)
            # The oldest survivor was kept by both rules, and the messages after
            # it are newer: once it is not due, the partition is done.
            if partition.look():
                left.append(partition)
            run.keep_lock()
            if run.out_of_time() and (left or index + 1 < len(pending)):
                more = True
                break
        pending = left
    summary = f"deleted {plural(deleted, 'message')}"
    if topics:
        summary += f" from {plural(len(topics), 'topic')}"
    if more:
        summary += "; stopped at the time limit, the next run goes on"
    return done(summary, messages=deleted)


def _partitions(now: datetime) -> list[_Partition]:
    """The partitions of the topics with retention that may have messages due."""
    rows = (
        Partition.objects.filter(
            Q(topic__retention_seconds__isnull=False) | Q(topic__retention_messages__isnull=False)
        )
        .select_related("topic")
        .order_by("topic_id", "number")
    )
    found = []
    for row in rows:
        topic = row.topic
        upto = row.end_offset - topic.retention_messages if topic.retention_messages else 0
        cutoff = (
            now - timedelta(seconds=topic.retention_seconds)
            if topic.retention_seconds is not None
            else None
        )
        if upto > 0 or cutoff is not None:
            found.append(_Partition(topic.name, row.number, max(upto, 0), cutoff))
    return found


TASK = Task(
    name="prune_streams",
    interval_setting="STREAM_RETENTION_INTERVAL",
    run=run,
    description="delete stream messages past their topic's retention_seconds/retention_messages",
)
