"""The demo's handlers (``demo.*``): registered only where the demo app is installed."""

import time

from core.handlers import handler


@handler("demo.quick")
def quick(payload, ctx):
    """Return at once with a small result."""
    return {"greeting": f"hello {payload.get('name', 'world')}"}


@handler("demo.slow")
def slow(payload, ctx):
    """Take a few seconds, reporting progress as it goes."""
    steps = int(payload.get("steps", 10))
    for step in range(1, steps + 1):
        if ctx.should_abort():
            raise TimeoutError("stopped: the job was cancelled or timed out")
        time.sleep(float(payload.get("step_seconds", 0.5)))
        ctx.set_progress(step * 100 // steps)
    return {"steps": steps}


@handler("demo.flaky")
def flaky(payload, ctx):
    """Fail on the first attempt, succeed on the retry."""
    if ctx.attempt < int(payload.get("succeed_on_attempt", 2)):
        raise ConnectionError(f"upstream unavailable (attempt {ctx.attempt})")
    return {"succeeded_on_attempt": ctx.attempt}
