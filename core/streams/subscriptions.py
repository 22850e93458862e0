"""HTTP push subscriptions: runworker POSTs a topic's messages to an endpoint.

A subscription delivers a topic (all of its partitions, or some) to a URL on
behalf of a consumer group: every runworker runs a pusher (``--no-push``
turns it off) that POSTs batches of the messages after the group's committed
offset and commits a batch only when the endpoint answers 2xx. Anything else
(an error status, a timeout, a refused connection) is recorded on the
subscription and the same batch is tried again after ``interval`` seconds, so
delivery is at least once and in offset order per partition. A lease on the
group's offset row makes exactly one worker push a given partition at a time.

    from core import streams

    streams.add_subscription(
        "billing-hook", "orders", "billing", "https://billing.example.com/hook",
        batch_size=50, interval=2.0, timeout=10.0,
    )

The POST body is ``{"topic": "orders", "partition": 0, "messages": [{"offset":
1, "key": "customer-42", "data": {...}, "created": "2025-…+00:00"}]}``.
"""

from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from core.exceptions import InvalidStreamError, SubscriptionNotFound, TopicNotFound
from core.models import Subscription, Topic
from core.streams.endpoints import masked_endpoint
from core.streams.topics import get_topic
from core.validation import Checks

__all__ = [
    "add_subscription",
    "check_overlap",
    "clean_subscription",
    "get_subscription",
    "list_subscriptions",
    "masked_endpoint",
    "pause_subscription",
    "remove_subscription",
    "resume_subscription",
]

#: Largest batch one POST carries.
MAX_BATCH_SIZE = 10_000
#: Longest interval and timeout, in seconds.
MAX_SECONDS = 3600.0

check = Checks(InvalidStreamError)


def _endpoint(value: Any) -> str:
    value = check.text("endpoint", value, 2000, controls=False)
    shown = masked_endpoint(value)  # a user:password@ is sent as Basic auth, never shown
    try:
        parts = urlsplit(value)
    except ValueError:
        raise InvalidStreamError(f"endpoint: not a valid URL: {shown!r}") from None
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise InvalidStreamError(f"endpoint: bad port in {shown!r}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidStreamError(f"endpoint: must be an http:// or https:// URL, got {shown!r}")
    if any(c.isspace() for c in value):
        raise InvalidStreamError(f"endpoint: may not contain spaces, got {shown!r}")
    return value


def _partitions(value: Any, count: int) -> list[int]:
    if value is None:
        return []
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        raise InvalidStreamError(f"partitions: must be a list of partition numbers, got {value!r}")
    chosen = list(value)
    for number in chosen:
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < count:
            raise InvalidStreamError(
                f"partitions: {number!r} is not a partition of the topic (0 to {count - 1})"
            )
    if len(set(chosen)) != len(chosen):
        raise InvalidStreamError(f"partitions: repeats a partition: {chosen}")
    return sorted(chosen)


def clean_subscription(
    name: Any,
    topic: Any,
    group: Any,
    endpoint: Any,
    *,
    partitions: Any = None,
    batch_size: Any = 100,
    interval: Any = 1.0,
    timeout: Any = 10.0,
    instance: Subscription | None = None,
    lock: bool = False,
) -> dict[str, Any]:
    """Check a subscription's settings as ``add_subscription`` (and the admin) take
    them; the cleaned values, ready for ``Subscription(**values)``.

    Raises InvalidStreamError whose message starts with the field it is about
    (``"endpoint: must be an http:// or https:// URL, …"``), TopicNotFound for
    an unknown topic. ``instance`` is the subscription being changed, left out
    of the name and overlap checks. ``lock`` (inside a transaction) locks the
    topic row first, so two concurrent checks of one topic run one after the
    other and cannot both pass the overlap check.
    """
    values: dict[str, Any] = {
        "name": check.text("name", name, controls=False),
        "group": check.text("group", group, controls=False),
        "endpoint": _endpoint(endpoint),
        "batch_size": check.integer("batch_size", batch_size, 1, MAX_BATCH_SIZE),
        "interval": check.seconds("interval", interval, most=MAX_SECONDS),
        "timeout": check.seconds("timeout", timeout, most=MAX_SECONDS),
    }
    if not isinstance(topic, str):
        raise InvalidStreamError(f"topic: must be a topic name, got {topic!r}")
    row = _locked_topic(topic) if lock else get_topic(topic)
    values["topic"] = row
    values["partitions"] = _partitions(partitions, row.partitions)
    others = Subscription.objects.all()
    if instance is not None and instance.pk is not None:
        others = others.exclude(pk=instance.pk)
    if others.filter(name=values["name"]).exists():
        raise InvalidStreamError(f"name: a subscription named {values['name']!r} exists already")
    check_overlap(row, values["group"], values["partitions"], others)
    return values


def _locked_topic(name: str) -> Topic:
    """The topic row, locked until the transaction ends (SELECT … FOR UPDATE)."""
    row = Topic.objects.select_for_update().filter(name=name).first()
    if row is None:
        raise TopicNotFound(f"no topic named {name!r}")
    return row


def check_overlap(
    topic: Topic, group: str, partitions: list[int], others: QuerySet[Subscription]
) -> None:
    """Refuse a second subscription of ``group`` to a partition of ``topic``: one
    group has one subscription per topic partition (``partitions`` empty: all)."""
    for other in others.filter(topic=topic, group=group).order_by("name"):
        if not partitions or not other.partitions or set(partitions) & set(other.partitions):
            raise InvalidStreamError(
                f"group: subscription {other.name!r} already pushes {topic.name} as group "
                f"{group!r}; two subscriptions of one group would split its messages"
            )


def add_subscription(
    name: str,
    topic: str,
    group: str,
    endpoint: str,
    *,
    partitions: list[int] | None = None,
    batch_size: int = 100,
    interval: float = 1.0,
    timeout: float = 10.0,
) -> Subscription:
    """Create an active subscription: POST ``topic``'s messages to ``endpoint`` as
    consumer group ``group``, ``batch_size`` messages at a time.

    ``partitions`` picks some of the topic's partitions (None or empty: all of
    them, also those added later). ``interval`` is the seconds between looks at
    an idle partition and before retrying a failed POST; ``timeout`` the
    seconds a connect or a read of the POST may take. Raises
    InvalidStreamError (naming the field) for bad values, a taken name or a
    partition the group already has a subscription for, TopicNotFound for an
    unknown topic.
    """
    try:
        with transaction.atomic():
            # The topic row stays locked until the insert commits: a concurrent
            # add_subscription of the same topic checks the overlap after it.
            values = clean_subscription(
                name,
                topic,
                group,
                endpoint,
                partitions=partitions,
                batch_size=batch_size,
                interval=interval,
                timeout=timeout,
                lock=True,
            )
            subscription = Subscription(**values)
            subscription.save()
    except IntegrityError:  # a concurrent add_subscription took the name first
        raise InvalidStreamError(f"name: a subscription named {name!r} exists already") from None
    return subscription


def get_subscription(name: str) -> Subscription:
    """The subscription called ``name``, or SubscriptionNotFound."""
    found = (
        Subscription.objects.select_related("topic").filter(name=name).first()
        if isinstance(name, str)
        else None
    )
    if found is None:
        raise SubscriptionNotFound(f"no push subscription named {name!r}")
    return found


def list_subscriptions(topic: str | None = None) -> list[Subscription]:
    """Every subscription (of ``topic``, if given), by name."""
    rows = Subscription.objects.select_related("topic").order_by("name")
    return list(rows if topic is None else rows.filter(topic_id=topic))


def remove_subscription(name: str) -> None:
    """Delete a subscription; its group's committed offsets stay."""
    get_subscription(name).delete()


def pause_subscription(name: str) -> Subscription:
    """Stop pushing (a POST in flight still finishes and commits)."""
    subscription = get_subscription(name)
    subscription.active = False
    subscription.save(update_fields=["active"])
    return subscription


def resume_subscription(name: str) -> Subscription:
    """Push again, at once: pending retry waits are dropped."""
    subscription = get_subscription(name)
    subscription.active = True
    subscription.next_attempt = {}
    subscription.save(update_fields=["active", "next_attempt"])
    return subscription
