"""Streams: topics split into partitions of messages with dense offsets, consumer
groups with committed offsets, and HTTP push subscriptions.

Topics are rows, not tables: any topic name is safe, and no SQL is built from
names. A partition's row holds its next offset; publishers lock it, so
offsets are dense (1, 2, 3, … per partition) and become visible in order.
"""

from django.db import models


class Topic(models.Model):
    """A named log split into ``partitions``, with optional retention."""

    name = models.CharField(primary_key=True, max_length=200)
    partitions = models.PositiveIntegerField(default=1)
    #: Messages older than this many seconds are deleted by maintenance.
    retention_seconds = models.FloatField(null=True, blank=True)
    #: At most this many newest messages are kept per partition.
    retention_messages = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Partition(models.Model):
    """One partition of a topic and the offset its next message gets."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="partition_rows")
    number = models.PositiveIntegerField()
    #: Offsets start at 1; ``next_offset - 1`` is the end (the last message's offset).
    next_offset = models.PositiveBigIntegerField(default=1)

    class Meta:
        ordering = ["topic", "number"]
        constraints = [models.UniqueConstraint(fields=["topic", "number"], name="partition_unique")]

    def __str__(self) -> str:
        return f"{self.topic_id}[{self.number}]"

    @property
    def end_offset(self) -> int:
        return self.next_offset - 1


class Message(models.Model):
    """A message: its offset is dense and increasing within its topic's partition."""

    id = models.BigAutoField(primary_key=True)
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="messages")
    partition = models.PositiveIntegerField()
    offset = models.PositiveBigIntegerField()
    key = models.CharField(max_length=255, null=True, blank=True)
    #: The message's type (``stream push --type``), for readers to filter on.
    type = models.CharField(max_length=100, null=True, blank=True)
    data = models.JSONField(null=True, blank=True)
    #: A bytes payload, stored as binary instead of ``data``.
    body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["topic", "partition", "offset"]
        constraints = [
            models.UniqueConstraint(
                fields=["topic", "partition", "offset"], name="message_offset_unique"
            )
        ]
        indexes = [
            models.Index(fields=["created_at"], name="message_created_idx"),
            models.Index(
                fields=["topic", "type", "partition", "offset"],
                name="message_type_idx",
                condition=models.Q(type__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic_id}[{self.partition}]@{self.offset}"


class ConsumerOffset(models.Model):
    """A consumer group's committed offset in one partition: the last offset it
    has processed (0: none yet). Also the lease of the push subscription that
    delivers this partition to the group."""

    group = models.CharField(max_length=200)
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="offsets")
    partition = models.PositiveIntegerField()
    offset = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    locked_by = models.CharField(max_length=200, null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["group", "topic", "partition"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "topic", "partition"], name="consumer_offset_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.group} @ {self.topic_id}[{self.partition}] = {self.offset}"


class Subscription(models.Model):
    """An HTTP push consumer: runworker POSTs batches of a topic to ``endpoint`` for
    ``group``, committing each batch's offset only on a 2xx answer."""

    name = models.CharField(max_length=200, unique=True)
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="subscriptions")
    group = models.CharField(max_length=200)
    #: Partition numbers to push; empty: all of the topic's partitions.
    partitions = models.JSONField(default=list, blank=True)
    endpoint = models.URLField(max_length=2000)
    batch_size = models.PositiveIntegerField(default=100)
    #: Seconds between polls of an idle partition, and before a retry after a failure.
    interval = models.FloatField(default=1.0)
    #: Seconds a POST may take.
    timeout = models.FloatField(default=10.0)
    active = models.BooleanField(default=True)
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    #: When each partition may be pushed next (after a failure or an empty poll),
    #: as {"<partition>": ISO time}.
    next_attempt = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
