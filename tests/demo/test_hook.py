"""The demo's push hook /examples/hook/: what the demo's subscription POSTs batches to.

Test-client tests for what it accepts and refuses, then the pusher's real POSTs to it
on ``live_server``: the delivery module's, and a worker's pusher delivering the demo's
topic so the group ``billing`` commits.
"""

import json

import pytest
from django.test import Client

from core import streams
from core.demo import handlers  # noqa: F401  registers the demo handlers
from core.demo.workload import enqueue_demo
from core.models import Job, Subscription
from core.streams import delivery
from tests.workers import BackgroundWorker, wait_for

HOOK = "/examples/hook/"

BATCH = {
    "topic": "demo.orders",
    "partition": 1,
    "messages": [
        {"offset": 7, "key": "tenant-acme", "data": {"order": "A-1"}, "created": "2026-01-01"},
        {"offset": 8, "key": None, "data": "any JSON", "created": "2026-01-01"},
    ],
}


def post(body, client=None, **headers):
    client = client or Client(enforce_csrf_checks=True)
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(HOOK, data=data, content_type="application/json", headers=headers)


def test_the_hook_accepts_a_batch_without_login_or_csrf_token():
    response = post(BATCH, **{"X-Queueadmin-Subscription": "demo-billing-hook"})
    assert response.status_code == 200
    assert response.json() == {
        "received": 2,
        "topic": "demo.orders",
        "partition": 1,
        "last_offset": 8,
        "subscription": "demo-billing-hook",
    }


def test_the_hook_accepts_an_empty_batch():
    response = post({**BATCH, "messages": []})
    assert response.status_code == 200
    assert response.json()["received"] == 0
    assert response.json()["last_offset"] is None


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_the_hook_refuses_other_methods(method):
    response = getattr(Client(), method)(HOOK)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["error"]["status"] == 405


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "the body is not JSON"),
        (b"\xff\xfe", "the body is not JSON"),
        ([], "the body must be a JSON object"),
        ({**BATCH, "topic": 3}, "topic: must be a string"),
        ({**BATCH, "partition": "0"}, "partition: must be a partition number"),
        ({**BATCH, "partition": True}, "partition: must be a partition number"),
        ({**BATCH, "partition": -1}, "partition: must be a partition number"),
        ({**BATCH, "messages": {"offset": 1}}, "messages: must be a list"),
        ({**BATCH, "messages": [{"offset": 0}]}, "messages: each must be an object"),
        ({**BATCH, "messages": [{"key": "x"}]}, "messages: each must be an object"),
        ({**BATCH, "messages": [7]}, "messages: each must be an object"),
    ],
)
def test_the_hook_refuses_what_is_not_a_batch(body, message):
    response = post(body)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(message)


@pytest.mark.django_db(transaction=True)
def test_the_pushers_post_gets_a_2xx_from_the_hook(live_server):
    streams.create_topic("demo.orders", partitions=2)
    streams.publish_many("demo.orders", [{"data": {"n": n}, "partition": 1} for n in range(3)])
    body = delivery.body("demo.orders", 1, streams.read("demo.orders", 1))
    assert delivery.post(f"{live_server.url}{HOOK}", body, 5.0, "demo-billing-hook") is None


@pytest.mark.django_db(transaction=True)
def test_a_worker_pushes_the_demo_topic_to_the_hook_and_billing_commits(live_server):
    enqueue_demo(live_server.url)
    with BackgroundWorker(queues=None, job_types=["demo.tick"], concurrency=1):
        tick = wait_for(
            lambda: Job.objects.filter(job_type="demo.tick", status="completed").first(),
            message="the tick to run",
        )

        def delivered():
            ends = [streams.end_offset("demo.orders", p) for p in (0, 1)]
            done = [streams.committed("billing", "demo.orders", p) for p in (0, 1)]
            return done == ends and ends

        assert wait_for(delivered, timeout=30, message="billing to catch up") == [2, 2]
    sub = Subscription.objects.get(name="demo-billing-hook")
    assert sub.last_success_at is not None
    assert sub.last_error == ""
    assert len(tick.output["published"]) == 4
    # The slow group read one message per partition of the four.
    assert [streams.committed("analytics", "demo.orders", p) for p in (0, 1)] == [1, 1]
