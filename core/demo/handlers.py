"""The demo's handlers (``demo.*``): registered only where the demo app is installed."""

import time

from core import queue, streams
from core.demo import workload
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


class CardDeclined(Exception):
    """What the demo's payment provider always answers."""


@handler("demo.charge_card")
def charge_card(payload, ctx):
    """Fail every attempt: when they are used up the job fails for good and its
    dead-letter job (``demo.dead_letter``) runs."""
    raise CardDeclined(
        f"card of {payload.get('customer', 'the customer')} declined (attempt {ctx.attempt} "
        f"of {ctx.max_attempts}; this demo job always fails)"
    )


@handler("demo.dead_letter")
def dead_letter(payload, ctx):
    """Handle a job that failed for good: open a (made-up) ticket naming it."""
    error = payload.get("error") or {}
    return {
        "ticket": f"DEAD-{payload.get('job_id')}",
        "failed_job": payload.get("job_id"),
        "failed_job_type": payload.get("job_type"),
        "attempts": payload.get("attempts"),
        "error": f"{error.get('type')}: {error.get('message')}",
    }


@handler("demo.approval")
def approval(payload, ctx):
    """A durable handler: prepare a refund, wait (without holding a worker) until a
    person completes its token on the Tokens page, then issue it or not.

    Complete the token with ``{"approved": true}`` (or empty, null) to issue the
    refund, ``{"approved": false}`` to refuse it; after a day it times out.
    """
    draft = ctx.run(
        "draft",
        lambda: {"order": payload.get("order"), "refund_cents": payload.get("refund_cents")},
    )
    token = ctx.create_token(timeout=workload.APPROVAL_TIMEOUT, tags=["demo", "approval"])
    decision = ctx.wait_for_token(token)
    if not decision.ok:
        return {"refunded": False, "reason": decision.error, **draft}
    answer = decision.output
    refused = answer is False or (isinstance(answer, dict) and answer.get("approved") is False)
    approved = not refused
    if approved:
        ctx.run("refund", lambda: {"refund_id": f"re_{ctx.job_id}"})
    return {"refunded": approved, "decision": answer, **draft}


@handler("demo.send_email")
def send_email(payload, ctx):
    """Pretend to send an email (a fraction of a second)."""
    time.sleep(float(payload.get("seconds", 0.3)))
    return {"to": payload.get("to"), "message_id": f"<{ctx.job_id}@demo.example>"}


@handler(workload.TICK)
def tick(payload, ctx):
    """What the every-minute cron schedule runs: publish a few orders to the demo topic
    (pushed to the demo's hook as group ``billing``), let the slow group ``analytics``
    read one message per partition (so its lag grows), and queue a receipt email per
    order on the rate-limited queue. Each part is a step: a retry does not repeat it."""
    count = int(payload.get("orders", workload.ORDERS_PER_TICK))
    orders = ctx.run("publish", lambda: workload.publish_orders(count))
    read = ctx.run(
        "analytics",
        lambda: streams.poll(
            workload.SLOW_GROUP,
            workload.TOPIC,
            lambda batch: None,
            max_messages=workload.SLOW_GROUP_READS,
        ),
    )
    receipts = ctx.run(
        "receipts",
        lambda: [job.pk for job in queue.enqueue_many([workload.receipt_spec(o) for o in orders])],
    )
    return {
        "published": [f"{o['order']} → [{o['partition']}] {o['offset']}" for o in orders],
        "analytics_read": read,
        "receipts": receipts,
    }
