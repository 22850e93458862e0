"""Handlers used by the worker tests (in-process and in runworker subprocesses)."""

import os
import time
from pathlib import Path

from core.handlers import handler


def _touch(path: str | None) -> None:
    if path:
        Path(path).write_text(str(os.getpid()))


@handler("test.record")
def record(payload, ctx):
    """Append this job's id to a file: one line per execution."""
    with open(payload["file"], "a") as fh:
        fh.write(f"{ctx.job_id}\n")
    return {"recorded": ctx.job_id}


@handler("test.echo")
def echo(payload, ctx):
    return payload


@handler("test.fail")
def fail(payload, ctx):
    raise ValueError(payload.get("message", "boom") if payload else "boom")


@handler("test.sleep")
def sleep(payload, ctx):
    """Sleep ignoring everything, after touching an optional marker file."""
    _touch(payload.get("marker"))
    time.sleep(payload["seconds"])
    return {"slept": payload["seconds"]}


@handler("test.cooperative")
def cooperative(payload, ctx):
    """Loop until asked to stop, then say so."""
    _touch(payload.get("marker") if payload else None)
    while not ctx.should_abort():
        time.sleep(0.01)
    return "stopped"


@handler("test.busy")
def busy(payload, ctx):
    """A busy loop that ignores should_abort(): only SIGKILL stops it."""
    while True:
        pass


@handler("test.crash_once")
def crash_once(payload, ctx):
    """Hang on the first attempt (the test kills the worker), succeed after."""
    if ctx.attempt == 1:
        _touch(payload["marker"])
        time.sleep(120)
    return {"attempt": ctx.attempt}


@handler("test.progress")
def progress(payload, ctx):
    ctx.set_progress(40)
    return "done"


@handler("test.not_json")
def not_json(payload, ctx):
    return {"when": object()}


@handler("test.progress_steps")
def progress_steps(payload, ctx):
    """Raise progress to 100 in ``steps`` equal steps, ``pause`` seconds apart.

    For watching a running job's progress bar move; stops early when aborted.
    """
    steps, pause = payload.get("steps", 10), payload.get("pause", 0.6)
    for step in range(1, steps + 1):
        if ctx.should_abort():
            return {"stopped_at": step}
        time.sleep(pause)
        ctx.set_progress(100 * step / steps)
    return {"steps": steps}
