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


def _log(payload, entry: str) -> None:
    """Append one line to the payload's execution log (side effects counted by tests)."""
    with open(payload["log"], "a") as log:
        log.write(entry + "\n")


@handler("test.three_steps")
def three_steps(payload, ctx):
    """Three logged steps with a durable wait between each."""
    a = ctx.run("one", lambda: _log(payload, "one") or 1)
    ctx.wait_for(seconds=payload.get("wait", 0))
    b = ctx.run("two", lambda: _log(payload, "two") or 2)
    if payload.get("pause_file"):  # a process test kills the worker here
        _touch(payload["pause_file"])
        time.sleep(payload.get("pause", 0))
    ctx.wait_for(seconds=payload.get("wait", 0))
    c = ctx.run("three", lambda: _log(payload, "three") or 3)
    return {"sum": a + b + c}


@handler("test.approval")
def approval(payload, ctx):
    """Wait for a person to complete a token; return what they sent."""
    token = ctx.create_token(timeout=payload.get("timeout"), tags=["approval"])
    result = ctx.wait_for_token(token)
    return {"ok": result.ok, "output": result.output, "error": result.error}


@handler("test.defer")
def defer_loop(payload, ctx):
    """Count up by deferring until the count reaches payload["until"]."""
    count = (ctx.state or {}).get("count", 0) + 1
    ctx.run("tick", lambda: count)  # a fresh step on every run
    if count < payload["until"]:
        ctx.defer(payload.get("delay", 0), state={"count": count})
    return {"count": count}


@handler("test.duplicate_step")
def duplicate_step(payload, ctx):
    ctx.run("same", lambda: 1)
    ctx.run("same", lambda: 2)


@handler("test.extend")
def extend(payload, ctx):
    """Outlive its timeout by asking for more time once."""
    ctx.on_timeout(lambda: payload["extra"])
    deadline = time.monotonic() + payload["run"]
    while time.monotonic() < deadline:
        if ctx.should_abort():
            raise RuntimeError("aborted")
        time.sleep(0.01)
    return "done"


@handler("test.prolong")
def prolong(payload, ctx):
    """Run past its timeout by prolonging halfway."""
    time.sleep(payload["run"] / 2)
    ctx.prolong(payload["run"])
    time.sleep(payload["run"] / 2)
    return "done"


@handler("test.interval")
def interval(payload, ctx):
    """Sleep ``seconds``; append ``{"id", "start", "end", "pid"}`` (time.time()) as a
    JSON line to ``payload["file"]``, one append-mode write per job."""
    import json

    start = time.time()
    time.sleep(payload.get("seconds", 0))
    end = time.time()
    line = json.dumps({"id": ctx.job_id, "start": start, "end": end, "pid": os.getpid()})
    with open(payload["file"], "a") as fh:
        fh.write(line + "\n")
    return {"start": start, "end": end}


@handler("test.fail_once")
def fail_once(payload, ctx):
    """Fail the first attempt, succeed on the next."""
    if ctx.attempt == 1:
        raise ValueError("first attempt fails")
    return {"attempt": ctx.attempt}


@handler("test.nap")
def nap(payload, ctx):
    """One durable sleep of ``payload["seconds"]`` (default 0), then done."""
    ctx.wait_for(seconds=(payload or {}).get("seconds", 0))
    return "rested"


@handler("test.record_sleep")
def record_sleep(payload, ctx):
    """Append this job's id to a file, then sleep: one line per execution."""
    with open(payload["file"], "a") as fh:
        fh.write(f"{ctx.job_id}\n")
    time.sleep(payload["seconds"])
    return {"recorded": ctx.job_id}


@handler("test.exit")
def exit_process(payload, ctx):
    """Kill the worker process from inside the handler (a poison job)."""
    os._exit(3)


def _stall_the_cron_task(marker: Path) -> None:
    """Fault injection for tests/processes/test_faults.py: the first worker process to
    run the cron task writes its pid to ``marker`` and hangs inside it until killed."""
    from core.scheduling import cron

    enqueue_due = cron.enqueue_due

    def stalling(now=None):
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return enqueue_due(now)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        time.sleep(3600)  # inside the cron task, holding its lock, until SIGKILL
        return []

    cron.enqueue_due = stalling


if os.environ.get("QUEUEADMIN_TEST_STALL_CRON"):
    _stall_the_cron_task(Path(os.environ["QUEUEADMIN_TEST_STALL_CRON"]))


@handler("test.stamped_sleep")
def stamped_sleep(payload, ctx):
    """Note when the handler started and in which process, then sleep."""
    started = time.time()
    time.sleep(payload["seconds"])
    return {"started": started, "pid": os.getpid()}


@handler("test.record_order")
def record_order(payload, ctx):
    """Append "pid job-id" to a file: the order each worker ran its jobs in."""
    with open(payload["file"], "a") as fh:
        fh.write(f"{os.getpid()} {ctx.job_id}\n")


@handler("test.channel")
def channel(payload, ctx):
    """Return the channel the job was claimed from (ctx.channel)."""
    return {"channel": ctx.channel}
