"""django.tasks functions used by tests/jobs/test_tasks.py."""

from django.tasks import task


@task
def add(a, b):
    return a + b


@task(priority=10, queue_name="default")
def fail():
    raise ValueError("task failed")


@task(max_attempts=5, timeout=30, tags=("django",))
def with_options():
    return "ok"


@task(takes_context=True)
def with_context(context, steps):
    context.job.set_progress(50)
    return {"attempt": context.attempt, "result_id": context.task_result.id, "steps": steps}


@task
async def async_add(a, b):
    return a + b


@task(takes_context=True, retry_delay=0)
def flaky(context):
    if context.attempt == 1:
        raise RuntimeError("first attempt fails")
    return context.attempt
