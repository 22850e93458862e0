"""The demo of `make run`: a small workload and the setup that makes every page of the
dashboard show something alive.

``enqueue_demo(base_url)`` (``manage.py enqueue_demo --base-url …``) applies the demo's
settings, then enqueues a handful of jobs:

- Jobs: quick ones, slow ones reporting progress, flaky ones that succeed on their retry,
  some scheduled a few minutes later (queue ``default``).
- Cron: the schedule ``demo-every-minute`` runs ``demo.tick`` every minute (and once now).
  Each tick is a small shop: it publishes orders to the topic ``demo.orders``, lets the
  slow consumer group ``analytics`` read one message per partition (so it lags), and
  queues a receipt email per order.
- Queues: ``emails`` is rate-limited (2 starts per 10 s); its jobs name a channel per
  customer, and channel ``tenant-acme`` has a policy (one at a time, 10 s apart).
- Tokens: ``demo.approval`` waits for a person to approve a refund on the Tokens page.
- Failures: ``demo.charge_card`` fails all its attempts; its dead-letter job
  ``demo.dead_letter`` then runs.
- Streams: the push subscription ``demo-billing-hook`` delivers ``demo.orders`` as group
  ``billing`` to this project's own ``/examples/hook/`` (at ``base_url``).
- API keys: a read-only key named ``DEMO_KEY_NAME`` (its secret is never shown).

Settings are applied, not added: running it twice leaves one schedule, one subscription,
one key and the same policies (and enqueues a second batch of jobs).
"""

import random
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from django.urls import reverse
from django.utils import timezone

from core import queue, streams
from core.exceptions import ScheduleNotFound, SubscriptionNotFound
from core.models import ApiKey, ChannelPolicy, CronSchedule, Job, Queue, Subscription, Topic

#: Where `make run` serves the dashboard; the push subscription's endpoint is under it.
BASE_URL = "http://127.0.0.1:8000"

#: The cron schedule firing every minute, and what it runs.
CRON_NAME = "demo-every-minute"
CRON_EXPRESSION = "* * * * *"
TICK = "demo.tick"
#: Orders each tick publishes (one per customer).
ORDERS_PER_TICK = 4

#: The second queue: rate-limited, its jobs spread over one channel per customer.
MAIL_QUEUE = "emails"
MAIL_RATE_LIMIT = 2
MAIL_RATE_PERIOD = 10.0
CUSTOMERS = ("tenant-acme", "tenant-globex", "tenant-initech", "tenant-umbrella")
#: The channel with a policy: one of its jobs at a time, 10 s between starts.
POLICY_CHANNEL = "tenant-acme"
POLICY_CONCURRENCY = 1
POLICY_INTERVAL = 10.0

#: The stream: a topic of orders, pushed to the demo's hook as one group while another
#: group reads it slowly.
TOPIC = "demo.orders"
TOPIC_PARTITIONS = 2
TOPIC_RETENTION = 86400.0
SUBSCRIPTION = "demo-billing-hook"
PUSH_GROUP = "billing"
SLOW_GROUP = "analytics"
#: Messages the slow group reads per partition and tick (fewer than are published).
SLOW_GROUP_READS = 1

#: The read-only API key the demo creates (its secret is thrown away).
DEMO_KEY_NAME = "demo: read-only key from enqueue_demo"

#: Who the quick jobs greet.
DEMO_NAMES = ("Ada", "Grace", "Linus", "Barbara", "Ken")

#: The approval token's timeout: the job gives up after a day.
APPROVAL_TIMEOUT = 86400


@dataclass
class Demo:
    """What ``enqueue_demo`` set up and enqueued."""

    jobs: list[Job] = field(default_factory=list)
    schedule: CronSchedule | None = None
    mail_queue: Queue | None = None
    channel_policy: ChannelPolicy | None = None
    topic: Topic | None = None
    subscription: Subscription | None = None
    api_key: ApiKey | None = None
    #: The names of the settings this run created (the others existed already).
    created: list[str] = field(default_factory=list)


def clean_base_url(value: str) -> str:
    """``value`` without its trailing slash; ValueError unless an http(s) URL with a host
    and nothing after the path."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the base URL must be an http:// or https:// URL, got {value!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"the base URL may not have a query or fragment, got {value!r}")
    return value.strip().rstrip("/")


def hook_url(base_url: str) -> str:
    """The endpoint of the demo's push subscription: the hook view under ``base_url``."""
    return clean_base_url(base_url) + reverse("queueadmin_demo:hook")


def email_address(customer: str) -> str:
    return f"billing@{customer.removeprefix('tenant-')}.example"


def new_orders(count: int) -> list[dict]:
    """``count`` made-up orders, one per customer in turn."""
    return [
        {
            "order": f"A-{random.randint(1000, 9999)}",
            "customer": CUSTOMERS[i % len(CUSTOMERS)],
            "total_cents": random.randint(500, 25_000),
        }
        for i in range(count)
    ]


def publish_orders(count: int) -> list[dict]:
    """Publish ``count`` new orders to TOPIC, keyed by customer; each order with where it
    went (``partition``, ``offset``)."""
    orders = new_orders(count)
    placed = streams.publish_many(TOPIC, [{"data": o, "key": o["customer"]} for o in orders])
    return [
        {**order, "partition": p.partition, "offset": p.offset}
        for order, p in zip(orders, placed, strict=True)
    ]


def receipt_spec(order: dict) -> dict:
    """The job that emails an order's receipt: on MAIL_QUEUE, in its customer's channel,
    once per message (the idempotency key names the message)."""
    return {
        "job_type": "demo.send_email",
        "payload": {
            "to": email_address(order["customer"]),
            "template": "receipt",
            "order": order["order"],
        },
        "queue": MAIL_QUEUE,
        "channel": order["customer"],
        "tags": ["demo", "email"],
        "idempotency_key": f"demo-receipt:{TOPIC}:{order['partition']}:{order['offset']}",
    }


# -- the settings --------------------------------------------------------------------------


def _cron(demo: Demo) -> None:
    """The every-minute schedule, as the demo defines it (created or put back)."""
    definition = {
        "expression": CRON_EXPRESSION,
        "job_type": TICK,
        "payload": {"orders": ORDERS_PER_TICK},
        "queue": "default",
        "tags": ["demo", "cron"],
        "max_attempts": 3,
        "timeout": 60,
    }
    try:
        queue.get_cron(CRON_NAME)
    except ScheduleNotFound:
        expression = definition.pop("expression")
        job_type, payload = definition.pop("job_type"), definition.pop("payload")
        demo.schedule = queue.add_cron(CRON_NAME, expression, job_type, payload, **definition)
        demo.created.append(f"cron schedule {CRON_NAME}")
    else:
        demo.schedule = queue.edit_cron(CRON_NAME, **definition)


def _policies(demo: Demo) -> None:
    """The rate limit of MAIL_QUEUE and the policy of POLICY_CHANNEL."""
    if queue.get_queue_policy(MAIL_QUEUE) is None:
        demo.created.append(f"queue policy {MAIL_QUEUE}")
    demo.mail_queue = queue.set_queue_policy(
        MAIL_QUEUE, rate_limit=MAIL_RATE_LIMIT, rate_period=MAIL_RATE_PERIOD, actor="demo"
    )
    if queue.get_channel_policy(POLICY_CHANNEL) is None:
        demo.created.append(f"channel policy {POLICY_CHANNEL}")
    demo.channel_policy = queue.set_channel_policy(
        POLICY_CHANNEL,
        max_concurrency=POLICY_CONCURRENCY,
        release_interval=POLICY_INTERVAL,
        actor="demo",
    )


def _stream(demo: Demo, base_url: str) -> None:
    """The topic and its push subscription to the hook under ``base_url`` (replaced when
    it pushes elsewhere; the group's committed offsets stay)."""
    if not Topic.objects.filter(name=TOPIC).exists():
        demo.created.append(f"topic {TOPIC}")
    demo.topic = streams.create_topic(
        TOPIC, partitions=TOPIC_PARTITIONS, retention_seconds=TOPIC_RETENTION
    )
    endpoint = hook_url(base_url)
    try:
        subscription = streams.get_subscription(SUBSCRIPTION)
    except SubscriptionNotFound:
        subscription = None
    if subscription is not None and (
        subscription.endpoint != endpoint
        or subscription.topic_id != TOPIC
        or subscription.group != PUSH_GROUP
    ):
        streams.remove_subscription(SUBSCRIPTION)
        subscription = None
    if subscription is None:
        subscription = streams.add_subscription(
            SUBSCRIPTION, TOPIC, PUSH_GROUP, endpoint, batch_size=50, interval=2.0, timeout=5.0
        )
        demo.created.append(f"subscription {SUBSCRIPTION}")
    demo.subscription = subscription


def _api_key(demo: Demo) -> None:
    """A usable read-only key named DEMO_KEY_NAME; its secret is not kept anywhere."""
    key = ApiKey.objects.usable().filter(name=DEMO_KEY_NAME).order_by("pk").first()
    if key is None:
        key, _secret = ApiKey.create(DEMO_KEY_NAME, can_write=False)
        demo.created.append(f"API key {DEMO_KEY_NAME!r}")
    demo.api_key = key


# -- the jobs ------------------------------------------------------------------------------


def _job_specs() -> list[dict]:
    now = timezone.now()
    specs = [
        {"job_type": "demo.quick", "payload": {"name": name}, "tags": ["demo"]}
        for name in DEMO_NAMES
    ]
    specs += [
        {
            "job_type": "demo.slow",
            "payload": {"steps": 20, "step_seconds": 0.5 + i * 0.25},
            "tags": ["demo", "slow"],
            "priority": 5,
        }
        for i in range(3)
    ]
    specs += [
        {
            "job_type": "demo.flaky",
            "payload": {"succeed_on_attempt": 2},
            "retry_delay": 5,
            "tags": ["demo", "flaky"],
        }
        for _ in range(2)
    ]
    specs += [
        {
            "job_type": "demo.quick",
            "payload": {"name": f"later +{minutes}m"},
            "run_at": now + timedelta(minutes=minutes),
            "tags": ["demo", "scheduled"],
        }
        for minutes in (1, 2, 5)
    ]
    specs.append(
        {
            "job_type": "demo.approval",
            "payload": {"order": "A-1001", "customer": "tenant-initech", "refund_cents": 4200},
            "tags": ["demo", "approval"],
        }
    )
    specs.append(
        {
            "job_type": "demo.charge_card",
            "payload": {"customer": "tenant-globex", "amount_cents": 1999},
            "max_attempts": 3,
            "retry_delay": 2,
            "dead_letter_job_type": "demo.dead_letter",
            "tags": ["demo", "doomed"],
        }
    )
    specs += [
        {
            "job_type": "demo.send_email",
            "payload": {"to": email_address(customer), "template": "welcome"},
            "queue": MAIL_QUEUE,
            "channel": customer,
            "tags": ["demo", "email"],
        }
        for customer in CUSTOMERS
    ]
    return specs


def enqueue_demo(base_url: str = BASE_URL) -> Demo:
    """Apply the demo's settings (cron schedule, queue and channel policies, topic and
    push subscription to ``base_url``'s hook, read-only API key), enqueue the demo jobs
    and run the every-minute schedule once now."""
    base_url = clean_base_url(base_url)
    demo = Demo()
    _policies(demo)
    _stream(demo, base_url)
    _api_key(demo)
    _cron(demo)
    demo.jobs = queue.enqueue_many(_job_specs())
    demo.jobs.append(queue.run_cron_now(CRON_NAME))
    demo.schedule.refresh_from_db()
    return demo
