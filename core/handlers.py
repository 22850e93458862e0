"""Handler registration: ``@handler("job_type")`` functions are called as ``fn(payload, ctx)``;
``@worker_setup`` gives each handler thread its ``ctx.resources``; ``@job_describer``
names jobs in the worker's log lines.

This module only re-exports ``core.durable.registry`` and ``core.worker.hooks``, where
they live.
"""

from core.durable.registry import Handler, autodiscover, get_handler, handler, registered
from core.worker.hooks import job_describer, worker_setup

__all__ = [
    "Handler",
    "autodiscover",
    "get_handler",
    "handler",
    "job_describer",
    "registered",
    "worker_setup",
]
