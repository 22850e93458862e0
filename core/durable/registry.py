"""The handler registry: ``@handler("job_type")`` functions called as ``fn(payload, ctx)``.

Users import ``handler`` from ``core.handlers``, which re-exports this module.
"""

import logging
from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.utils.module_loading import autodiscover_modules

from core import conf

logger = logging.getLogger("queueadmin.handlers")

Handler = Callable[[Any, Any], Any]

_registry: dict[str, Handler] = {}
_resolvers: list[Callable[[str], Handler | None]] = []
_discovered = False


def handler(job_type: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of ``job_type``."""
    if not isinstance(job_type, str) or not job_type:
        raise ValueError(f"handler() needs a job type name, got {job_type!r}")

    def register(fn: Handler) -> Handler:
        existing = _registry.get(job_type)
        if existing is not None and existing is not fn:
            same = (existing.__module__, existing.__qualname__) == (fn.__module__, fn.__qualname__)
            if not same:
                raise ValueError(
                    f"job type {job_type!r} already has handler "
                    f"{existing.__module__}.{existing.__qualname__}"
                )
        _registry[job_type] = fn
        return fn

    return register


def autodiscover() -> None:
    """Import HANDLER_MODULES and every installed app's ``handlers``/``jobs`` module once."""
    global _discovered
    if _discovered:
        return
    import_module("core.durable.builtin")
    for module in conf.get("HANDLER_MODULES"):
        import_module(module)
    autodiscover_modules("handlers", "jobs")
    _discovered = True
    logger.debug("handlers registered: %s", ", ".join(sorted(_registry)))


def add_resolver(resolver: Callable[[str], Handler | None]) -> None:
    """Add a function that finds handlers for job types nobody registered
    (the django.tasks backend resolves ``task:<path>`` this way)."""
    if resolver not in _resolvers:
        _resolvers.append(resolver)


def get_handler(job_type: str) -> Handler | None:
    """The handler registered for ``job_type`` (or found by a resolver), or None."""
    found = _registry.get(job_type)
    if found is None:
        for resolver in _resolvers:
            found = resolver(job_type)
            if found is not None:
                break
    return found


def registered() -> list[str]:
    """Names of every registered job type."""
    return sorted(_registry)
