"""The demo of `make run`: enqueue_demo sets up what every dashboard page shows (cron,
queue and channel policies, a stream pushed to the demo's hook, a read-only API key),
idempotently, and its jobs run as described on a worker.

Workers here run without the pusher: the subscription's endpoint (BASE) is never called.
"""

from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core import queue, streams
from core.demo import (
    handlers,  # noqa: F401  registers the demo handlers
    workload,
)
from core.demo.workload import enqueue_demo
from core.models import (
    ApiKey,
    ChannelPolicy,
    CronSchedule,
    Job,
    Queue,
    Subscription,
    Topic,
    WaitToken,
)
from tests.workers import run_burst

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "http://127.0.0.1:8765"
HOOK = f"{BASE}/examples/hook/"
#: Each kind of demo job, by (job type, queue), as one enqueue_demo adds them.
WORKLOAD = {
    ("demo.quick", "default"): 8,  # 5 due, 3 scheduled later
    ("demo.slow", "default"): 3,
    ("demo.flaky", "default"): 2,
    ("demo.approval", "default"): 1,
    ("demo.charge_card", "default"): 1,
    ("demo.tick", "default"): 1,  # the cron schedule, run once now
    ("demo.send_email", "emails"): 4,  # a welcome email per customer
}


def kinds() -> Counter:
    return Counter(Job.objects.values_list("job_type", "queue"))


def by_type(job_type: str):
    return Job.objects.filter(job_type=job_type).order_by("pk")


def test_demo_workload_has_each_kind_of_job_in_two_queues():
    call_command("enqueue_demo", base_url=BASE, stdout=StringIO())
    assert kinds() == WORKLOAD
    later = Job.objects.filter(run_at__gt=timezone.now())
    assert list(later.values_list("job_type", flat=True)) == ["demo.quick"] * 3
    emails = by_type("demo.send_email")
    assert sorted(emails.values_list("channel", flat=True)) == sorted(workload.CUSTOMERS)
    assert {job.payload["template"] for job in emails} == {"welcome"}
    charge = by_type("demo.charge_card").get()
    assert (charge.dead_letter_job_type, charge.max_attempts) == ("demo.dead_letter", 3)
    assert (
        Job.objects.exclude(job_type="demo.send_email").filter(channel__isnull=False).count() == 0
    )


def test_demo_sets_up_cron_policies_a_pushed_stream_and_a_read_only_key():
    out = StringIO()
    call_command("enqueue_demo", base_url=BASE, stdout=out)

    schedule = CronSchedule.objects.get()
    assert (schedule.name, schedule.expression, schedule.job_type, schedule.status) == (
        "demo-every-minute",
        "* * * * *",
        "demo.tick",
        "active",
    )
    assert schedule.options["queue"] == "default"
    assert schedule.last_job == by_type("demo.tick").get()  # run once now: a last run at once
    assert schedule.next_run_at <= timezone.now() + timedelta(minutes=1)

    mail = Queue.objects.get()
    assert (mail.name, mail.rate_limit, mail.rate_period, mail.max_concurrency, mail.paused) == (
        "emails",
        2,
        10.0,
        None,
        False,
    )
    policy = ChannelPolicy.objects.get()
    assert (policy.name, policy.max_concurrency, policy.release_interval) == (
        "tenant-acme",
        1,
        10.0,
    )

    topic = Topic.objects.get()
    assert (topic.name, topic.partitions, topic.retention_seconds) == ("demo.orders", 2, 86400.0)
    sub = Subscription.objects.get()
    assert (sub.name, sub.topic_id, sub.group, sub.endpoint, sub.partitions, sub.active) == (
        "demo-billing-hook",
        "demo.orders",
        "billing",
        HOOK,
        [],
        True,
    )

    key = ApiKey.objects.get()
    assert (key.name, key.can_write, key.state(), key.created_by) == (
        "demo: read-only key from enqueue_demo",
        False,
        "active",
        None,
    )
    text = out.getvalue()
    assert "qa_" not in text  # neither the secret nor its prefix
    assert HOOK in text
    assert text.strip().endswith(f"Enqueued {sum(WORKLOAD.values())} demo jobs.")


def test_running_the_demo_twice_applies_the_same_settings_and_adds_a_second_batch():
    first = enqueue_demo(BASE)
    assert len(first.created) == 6
    second = enqueue_demo(BASE + "/")  # the same base URL
    assert second.created == []
    for model in (CronSchedule, Queue, ChannelPolicy, Topic, Subscription, ApiKey):
        assert model.objects.count() == 1, model
    assert (second.schedule.pk, second.subscription.pk, second.api_key.pk) == (
        first.schedule.pk,
        first.subscription.pk,
        first.api_key.pk,
    )
    assert kinds() == {kind: 2 * n for kind, n in WORKLOAD.items()}
    assert CronSchedule.objects.get().last_job_id == second.jobs[-1].pk


def test_running_the_demo_again_puts_its_settings_back():
    enqueue_demo(BASE)
    queue.edit_cron("demo-every-minute", expression="0 3 * * *", queue="elsewhere")
    queue.set_queue_policy("emails", rate_limit=None, max_concurrency=3)
    queue.set_channel_policy("tenant-acme", max_concurrency=9)
    ApiKey.objects.get().revoke()

    again = enqueue_demo(BASE)
    schedule = CronSchedule.objects.get()
    assert (schedule.expression, schedule.options["queue"]) == ("* * * * *", "default")
    mail = Queue.objects.get()
    assert (mail.rate_limit, mail.rate_period) == (2, 10.0)
    assert mail.max_concurrency == 3  # a limit the demo does not set is left alone
    policy = ChannelPolicy.objects.get()
    assert (policy.max_concurrency, policy.release_interval) == (1, 10.0)
    assert again.created == ["API key 'demo: read-only key from enqueue_demo'"]
    assert [k.state() for k in ApiKey.objects.order_by("pk")] == ["revoked", "active"]


def test_another_base_url_moves_the_subscription_and_keeps_the_group_offsets():
    enqueue_demo(BASE)
    streams.publish("demo.orders", {"order": "A-1"}, partition=0)
    streams.commit("billing", "demo.orders", 0, 1)

    moved = enqueue_demo("https://demo.example:8443")
    assert moved.created == ["subscription demo-billing-hook"]
    sub = Subscription.objects.get()
    assert sub.endpoint == "https://demo.example:8443/examples/hook/"
    assert sub.active
    assert streams.committed("billing", "demo.orders", 0) == 1


@pytest.mark.parametrize(
    "base_url", ["ftp://example.com", "127.0.0.1:8000", "http://", "http://x/?a=1", ""]
)
def test_a_bad_base_url_is_refused_before_anything_is_written(base_url):
    with pytest.raises(CommandError, match="base URL"):
        call_command("enqueue_demo", base_url=base_url, stdout=StringIO())
    assert not Job.objects.exists()
    assert not CronSchedule.objects.exists()
    assert not Subscription.objects.exists()


def test_the_demo_jobs_run_as_described(settings):
    settings.QUEUEADMIN = {"PROGRESS_INTERVAL": 0}
    enqueue_demo(BASE)
    by_type("demo.slow").update(payload={"steps": 2, "step_seconds": 0.01})
    Job.objects.filter(job_type__in=["demo.flaky", "demo.charge_card"]).update(retry_delay=0)
    began = timezone.now()
    # Burst waits out the rate limit only briefly: the rest stays for its next window.
    run_burst(queues=None, push=False, burst_wait=0.5)
    assert (timezone.now() - began).total_seconds() < 10  # within one rate window

    def outputs(job_type):
        return [job.output for job in by_type(job_type).filter(status="completed")]

    assert outputs("demo.quick") == [{"greeting": f"hello {n}"} for n in workload.DEMO_NAMES]
    assert by_type("demo.quick").filter(status="pending", run_at__gt=timezone.now()).count() == 3
    assert outputs("demo.slow") == [{"steps": 2}] * 3
    assert outputs("demo.flaky") == [{"succeeded_on_attempt": 2}] * 2

    # Fails all its attempts; its dead-letter job runs.
    charge = by_type("demo.charge_card").get()
    assert (charge.status, charge.attempts) == ("failed", 3)
    assert [e["type"] for e in charge.errors] == ["core.demo.handlers.CardDeclined"] * 3
    dead = by_type("demo.dead_letter").get()
    assert dead.payload["job_id"] == charge.pk
    assert dead.output == {
        "ticket": f"DEAD-{charge.pk}",
        "failed_job": charge.pk,
        "failed_job_type": "demo.charge_card",
        "attempts": 3,
        "error": f"core.demo.handlers.CardDeclined: {charge.errors[-1]['message']}",
    }

    # Waits on a token.
    approval = by_type("demo.approval").get()
    token = WaitToken.objects.get(job=approval)
    assert (approval.status, approval.wait_token) == ("waiting", token.pk)
    assert (token.status, token.tags) == ("waiting", ["demo", "approval"])
    assert token.timeout_at > timezone.now() + timedelta(hours=23)

    # The tick published 4 orders and queued their receipts; analytics read one per partition.
    tick = by_type("demo.tick").get()
    assert tick.status == "completed"
    assert len(tick.output["published"]) == 4
    assert tick.output["analytics_read"] == 2
    receipts = Job.objects.filter(pk__in=tick.output["receipts"])
    assert [(j.queue, j.channel) for j in receipts.order_by("pk")] == [
        ("emails", c) for c in workload.CUSTOMERS
    ]
    assert [streams.end_offset("demo.orders", p) for p in (0, 1)] == [2, 2]
    assert [streams.committed("analytics", "demo.orders", p) for p in (0, 1)] == [1, 1]

    # The rate limit let 2 of the 8 emails start in the burst's 10-s window.
    emails = by_type("demo.send_email")
    assert emails.count() == 8
    assert emails.exclude(status="pending").count() == 2

    # Without the limits every email goes; the approval finishes once its token is completed.
    queue.set_queue_policy("emails", rate_limit=None)
    queue.clear_channel_policy("tenant-acme")
    assert queue.complete_token(token.pk, {"approved": True}).completed
    run_burst(queues=None, push=False)
    assert set(emails.values_list("status", flat=True)) == {"completed"}
    assert sorted(j.output["to"] for j in emails) == sorted(
        workload.email_address(c) for c in workload.CUSTOMERS * 2
    )
    approval.refresh_from_db()
    assert approval.status == "completed"
    assert approval.output == {
        "refunded": True,
        "decision": {"approved": True},
        "order": "A-1001",
        "refund_cents": 4200,
    }
    assert approval.step_data["refund"] == {"refund_id": f"re_{approval.pk}"}


def test_each_tick_publishes_orders_queues_receipts_and_leaves_analytics_behind():
    enqueue_demo(BASE)
    queue.run_cron_now("demo-every-minute")
    # One at a time, as the schedule runs them (no overlap): two ticks polling the group at
    # once would both read the same message.
    run_burst(queues=["default"], job_types=["demo.tick"], push=False, concurrency=1)

    ticks = by_type("demo.tick")
    assert [t.output["analytics_read"] for t in ticks] == [2, 2]
    assert [streams.end_offset("demo.orders", p) for p in (0, 1)] == [4, 4]
    assert [streams.committed("analytics", "demo.orders", p) for p in (0, 1)] == [2, 2]
    orders = [m.data for p in (0, 1) for m in streams.read("demo.orders", p)]
    assert Counter(o["customer"] for o in orders) == dict.fromkeys(workload.CUSTOMERS, 2)
    receipts = by_type("demo.send_email").filter(payload__template="receipt")
    assert receipts.count() == 8
    assert len(set(receipts.values_list("idempotency_key", flat=True))) == 8
    assert sorted(r.payload["order"] for r in receipts) == sorted(o["order"] for o in orders)


@pytest.mark.parametrize(
    ("complete_with", "refunded"),
    [({"approved": True}, True), (None, True), ({"approved": False}, False), (False, False)],
)
def test_the_approval_follows_the_decision(complete_with, refunded):
    job = queue.enqueue("demo.approval", {"order": "A-7", "refund_cents": 100})
    run_burst(push=False)
    token = WaitToken.objects.get(job=job)
    queue.complete_token(token.pk, complete_with)
    run_burst(push=False)
    job.refresh_from_db()
    assert job.status == "completed"
    assert job.output == {
        "refunded": refunded,
        "decision": complete_with,
        "order": "A-7",
        "refund_cents": 100,
    }


def test_an_expired_approval_refunds_nothing():
    job = queue.enqueue("demo.approval", {"order": "A-8", "refund_cents": 100})
    run_burst(push=False)
    queue.expire_token(WaitToken.objects.get(job=job).pk)
    run_burst(push=False)
    job.refresh_from_db()
    assert job.output == {
        "refunded": False,
        "reason": "timed out",
        "order": "A-8",
        "refund_cents": 100,
    }
