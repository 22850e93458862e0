"""Expire tokens: wait tokens past their timeout time out, and their jobs wake."""

from core.durable import tokens
from core.maintenance.base import Result, Task, TaskRun, done, plural


def run(run: TaskRun) -> Result:
    """Time out every waiting token past its timeout, a batch at a time."""
    expired = 0
    while batch := tokens.expire_tokens():
        expired += batch
        if run.out_of_time():
            break
    return done(f"timed out {plural(expired, 'token')}", tokens=expired)


TASK = Task(
    name="expire_tokens",
    interval_setting="MAINTENANCE_INTERVAL",
    run=run,
    description="time out wait tokens past their timeout and wake their jobs",
)
