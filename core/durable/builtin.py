"""Handlers every worker has: ``queueadmin.noop``, which queuebench measures the queue with."""

from core.durable.registry import handler


@handler("queueadmin.noop")
def noop(payload, ctx):
    """Do nothing (queuebench measures the queue, not the work)."""
    return None
