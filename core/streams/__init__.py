"""Streams: Kafka-like topics with partitions and dense offsets, consumer groups with
committed offsets, HTTP push subscriptions run by ``runworker``, and the logic behind
``manage.py stream``.

Owns ``topics`` (publish, fetch, commit, poll), ``subscriptions`` (the push API),
``pusher`` + ``delivery`` (the push runtime a worker runs) and ``eventlog`` (the
event-log CLI). May import the drivers, the models, ``validation``, ``conf`` and
``exceptions``; nothing from jobs, the worker or the web layers.

The public API, as ``from core import streams``::

    streams.publish("orders", {"id": 7}, key="customer-42", type="order.placed")  # -> offset
    streams.publish("images", b"\x89PNG…")                   # bytes, read back as bytes
    streams.add_subscription("billing-hook", "orders", "billing", "https://…/hook")
"""

from core.streams.subscriptions import (
    add_subscription,
    get_subscription,
    list_subscriptions,
    pause_subscription,
    remove_subscription,
    resume_subscription,
)
from core.streams.topics import (
    MAX_FETCH,
    MAX_PARTITIONS,
    MAX_TYPE_LENGTH,
    Published,
    check_type,
    commit,
    committed,
    create_topic,
    delete_topic,
    end_offset,
    fetch,
    get_topic,
    partition_for,
    poll,
    publish,
    publish_many,
    read,
)

__all__ = [
    "MAX_FETCH",
    "MAX_PARTITIONS",
    "MAX_TYPE_LENGTH",
    "Published",
    "add_subscription",
    "check_type",
    "commit",
    "committed",
    "create_topic",
    "delete_topic",
    "end_offset",
    "fetch",
    "get_subscription",
    "get_topic",
    "list_subscriptions",
    "partition_for",
    "pause_subscription",
    "poll",
    "publish",
    "publish_many",
    "read",
    "remove_subscription",
    "resume_subscription",
]
