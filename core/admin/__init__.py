"""Django admin registrations, one module per table group (imported to register)."""

from core.admin import (
    apikeys,
    cron,
    jobs,
    maintenance,
    policies,
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
    "stream_subscriptions",
    "streams",
    "tokens",
    "workers",
]
