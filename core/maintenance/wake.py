"""Wake: sleeping jobs whose time came, and jobs held for dependencies that settled."""

from core.durable import waits
from core.jobs import dependencies
from core.maintenance.base import Result, Task, TaskRun, done, plural


def run(run: TaskRun) -> Result:
    """Make due sleepers pending, then release or cancel jobs held for dependencies."""
    woken = 0
    while batch := waits.wake_due(run.now):
        woken += len(batch)
        if run.out_of_time():
            break
    released, cancelled = dependencies.settle()
    return done(
        f"woke {plural(woken, 'sleeping job')}; "
        f"released {released:,} and cancelled {cancelled:,} held for dependencies",
        woken=woken,
        released=released,
        cancelled=cancelled,
    )


TASK = Task(
    name="wake",
    interval_setting="MAINTENANCE_INTERVAL",
    run=run,
    description="wake sleeping jobs that are due; settle jobs held for dependencies",
)
