"""Hooks and handlers for tests/worker/test_hooks.py: setups (named in settings, not
registered), describers, and a handler that returns what its thread's setup yielded."""

import os
import threading

from core.handlers import handler

#: (event, thread name) for each setup and teardown run in this process.
CALLS: list[tuple[str, str]] = []


def counting_setup():
    """Yields a per-thread resource; records its setup and teardown."""
    name = threading.current_thread().name
    CALLS.append(("setup", name))
    yield {"thread": name}
    CALLS.append(("teardown", name))


def failing_setup():
    raise RuntimeError("cannot reach the payment provider")
    yield  # a generator function all the same


def file_setup():
    """Writes setup/teardown lines to $HOOK_LOG (for runworker processes)."""
    name = threading.current_thread().name
    with open(os.environ["HOOK_LOG"], "a") as log:
        log.write(f"setup {name}\n")
    yield name
    with open(os.environ["HOOK_LOG"], "a") as log:
        log.write(f"teardown {name}\n")


def describe(job):
    return f"invoice {job.payload.get('invoice')}"


def broken_describer(job):
    raise KeyError("no invoice")


@handler("test.hooks.resources")
def resources(payload, ctx):
    """Returns the resources its thread's setup yielded."""
    return ctx.resources
