"""Handlers every worker has: ``queueadmin.noop``, which queuebench measures the queue with,
and ``queueadmin.stamp``, which queuebench measures latency with."""

import time

from core.durable.registry import handler


@handler("queueadmin.noop")
def noop(payload, ctx):
    """Do nothing (queuebench measures the queue, not the work)."""
    return None


@handler("queueadmin.stamp")
def stamp(payload, ctx):
    """Return the wall-clock time the handler started, as ``{"started": time.time()}``
    (queuebench's latency phase measures enqueue-to-handler latency with it)."""
    started = time.time()
    return {"started": started}
