"""Handler registration: ``@handler("job_type")`` functions are called as ``fn(payload, ctx)``.

This module only re-exports ``core.durable.registry``, where the registry lives.
"""

from core.durable.registry import Handler, autodiscover, get_handler, handler, registered

__all__ = ["Handler", "autodiscover", "get_handler", "handler", "registered"]
