"""Django admin registrations, one module per table group (imported to register).

Changes go through the same API as the dashboard (the facade, ``scheduling``,
``streams``, ``durable``), so the admin validates and logs like every other caller.
"""

from core.admin import (
    apikeys,
    cron,
    jobs,
    maintenance,
    policies,
    stats,
    stream_subscriptions,
    streams,
    tokens,
    workers,
)

__all__ = [
    "apikeys",
    "cron",
    "jobs",
    "maintenance",
    "policies",
    "stats",
    "stream_subscriptions",
    "streams",
    "tokens",
    "workers",
]
