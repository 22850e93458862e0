"""Which pending jobs a claim statement may take, as SQL conditions."""

from collections.abc import Callable
from dataclasses import dataclass

from core.drivers.tables import sql


@dataclass(frozen=True)
class Where:
    """Which pending jobs a claim statement may take."""

    queues: tuple[str, ...] | None = None
    job_types: tuple[str, ...] | None = None
    exclude_queues: tuple[str, ...] = ()
    #: True: only jobs without a channel.
    no_channel: bool = False
    #: Only jobs of this channel.
    channel: str | None = None
    #: Leave out jobs of channels that have a policy.
    skip_policy_channels: bool = False
    #: Leave out jobs of paused or limited queues (read at the claim, not snapshotted).
    skip_restricted_queues: bool = False


# Filters evaluated once per statement (a hashed subplan), not joined per row, so
# the planner keeps walking the claim index in order.
RESTRICTED_QUEUE = sql(
    """queue NOT IN (
    SELECT name FROM {Queue}
     WHERE paused OR max_concurrency IS NOT NULL OR rate_limit IS NOT NULL)"""
)
POLICY_CHANNEL = sql("(channel IS NULL OR channel NOT IN (SELECT name FROM {ChannelPolicy}))")

#: How a driver writes "column is one of these values": (column, parameter name,
#: values, params) -> SQL, putting the values into params.
Membership = Callable[[str, str, tuple[str, ...], dict], str]


def where_sql(where: Where, params: dict, member: Membership) -> str:
    """``AND …`` conditions on the job table for ``where`` (values go into ``params``)."""
    parts = []
    if where.queues is not None:
        if len(where.queues) == 1:
            # "=" for one queue lets the planner walk job_claim_idx in order.
            parts.append("queue = %(w_queue)s")
            params["w_queue"] = where.queues[0]
        else:
            parts.append(member("queue", "w_queues", where.queues, params))
    if where.exclude_queues:
        parts.append(f"NOT ({member('queue', 'w_exclude', where.exclude_queues, params)})")
    if where.job_types is not None:
        parts.append(member("job_type", "w_types", where.job_types, params))
    if where.no_channel:
        parts.append("channel IS NULL")
    if where.channel is not None:
        parts.append("channel = %(w_channel)s")
        params["w_channel"] = where.channel
    if where.skip_restricted_queues:
        parts.append(RESTRICTED_QUEUE)
    if where.skip_policy_channels:
        parts.append(POLICY_CHANNEL)
    return "".join(f" AND {part}" for part in parts)
