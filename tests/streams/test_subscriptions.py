"""HTTP push subscriptions: runworker POSTs batches and commits them only on a 2xx."""

import json
import logging
import signal
import socket
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from core import queue, streams
from core.exceptions import InvalidStreamError, SubscriptionNotFound, TopicNotFound
from core.models import ConsumerOffset, Message, Subscription, Topic
from core.streams.pusher import Pusher
from core.streams.subscriptions import (
    add_subscription,
    clean_subscription,
    get_subscription,
    pause_subscription,
    remove_subscription,
    resume_subscription,
)
from tests.workers import BackgroundWorker, run_burst, start_runworker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


class Endpoint:
    """A local HTTP endpoint: records every POST, answers ``status`` after ``delay``
    seconds, and can hold its answers until ``release()``."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.status = status
        self.delay = delay
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.in_flight: dict[int, int] = {}
        self.max_in_flight = 0
        self.opened = threading.Event()
        self.opened.set()
        self.waiting = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                body = json.loads(raw)
                partition = body["partition"]
                with endpoint.lock:
                    endpoint.requests.append(
                        {"at": time.monotonic(), "headers": dict(self.headers), "body": body}
                    )
                    endpoint.in_flight[partition] = endpoint.in_flight.get(partition, 0) + 1
                    endpoint.max_in_flight = max(
                        endpoint.max_in_flight, *endpoint.in_flight.values()
                    )
                    endpoint.waiting += 1
                time.sleep(endpoint.delay)
                endpoint.opened.wait(30)
                with endpoint.lock:  # before the answer, which lets the next POST go
                    endpoint.in_flight[partition] -= 1
                    endpoint.waiting -= 1
                status = endpoint.status
                answer = b"ok" if status < 300 else b"boom " * 100
                try:
                    self.send_response(status)
                    if status in (301, 302):
                        self.send_header("Location", "/elsewhere")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the pusher gave up (timeout)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def hold(self) -> None:
        self.opened.clear()

    def release(self) -> None:
        self.opened.set()

    def offsets(self, partition: int | None = None) -> list[list[int]]:
        """The offsets of each request's batch, in the order they came."""
        with self.lock:
            return [
                [m["offset"] for m in r["body"]["messages"]]
                for r in self.requests
                if partition is None or r["body"]["partition"] == partition
            ]

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    made: list[Endpoint] = []

    def make(**options) -> Endpoint:
        made.append(Endpoint(**options))
        return made[-1]

    yield make
    for server in made:
        server.close()


@contextmanager
def pushing(worker_id: str = "pusher-1", interval: float = 0.05, lease: float = 5.0):
    """A Pusher on a thread of this process until the block ends."""
    pusher = Pusher(worker_id, interval=interval, lease=lease)
    thread = threading.Thread(target=pusher.run)
    thread.start()
    try:
        yield pusher
    finally:
        pusher.stop()
        thread.join(timeout=5)
        assert not thread.is_alive(), "the pusher did not stop within 5 s"


def subscription(name: str) -> Subscription:
    return Subscription.objects.get(name=name)


def test_a_batch_is_committed_only_after_a_2xx_and_retried_after_a_500(endpoint, caplog):
    caplog.set_level(logging.WARNING, logger="queueadmin.streams")
    streams.create_topic("orders")
    for n in range(3):
        streams.publish("orders", {"id": n}, key=f"customer-{n}")
    server = endpoint(status=500)
    add_subscription("billing-hook", "orders", "billing", server.url, interval=0.3)
    with pushing():
        wait_for(lambda: subscription("billing-hook").last_error, message="the failure")
        failed = subscription("billing-hook")
        assert failed.last_error == "HTTP 500: " + ("boom " * 100)[:200]
        assert failed.last_error_at is not None
        assert failed.last_success_at is None
        assert set(failed.next_attempt) == {"0"}
        assert streams.committed("billing", "orders", 0) == 0

        server.hold()
        server.status = 200
        wait_for(lambda: server.waiting and len(server.requests) >= 2, message="the retry")
        assert streams.committed("billing", "orders", 0) == 0  # asked, not answered yet
        server.release()
        wait_for(lambda: streams.committed("billing", "orders", 0) == 3, message="the commit")
        time.sleep(0.3)

    first, retry, *more = server.requests
    assert more == []
    assert retry["at"] - first["at"] >= 0.25  # the subscription's interval
    assert first["body"] == retry["body"]  # the same messages again
    messages = Message.objects.filter(topic="orders").order_by("offset")
    assert retry["body"] == {
        "topic": "orders",
        "partition": 0,
        "messages": [
            {
                "offset": m.offset,
                "key": m.key,
                "type": None,
                "data": m.data,
                "created": m.created_at.isoformat(),
            }
            for m in messages
        ],
    }
    assert [m["data"] for m in retry["body"]["messages"]] == [{"id": 0}, {"id": 1}, {"id": 2}]
    assert retry["headers"]["Content-Type"] == "application/json"
    assert retry["headers"]["User-Agent"] == "queueadmin-push"
    done = subscription("billing-hook")
    assert done.last_error == ""
    assert done.last_success_at is not None
    row = ConsumerOffset.objects.get(group="billing", topic="orders", partition=0)
    assert (row.offset, row.locked_by) == (3, None)  # the lease was given back
    warnings = [r for r in caplog.records if r.name == "queueadmin.streams"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "HTTP 500" in warnings[0].getMessage()


def test_batches_respect_batch_size_and_arrive_in_order(endpoint):
    streams.create_topic("events", partitions=2)
    streams.publish_many("events", [{"data": n, "partition": 1} for n in range(1, 8)])
    streams.publish_many("events", [{"data": n, "partition": 0} for n in range(2)])
    server = endpoint()
    add_subscription("p1", "events", "g", server.url, partitions=[1], batch_size=3)
    with pushing():
        wait_for(lambda: streams.committed("g", "events", 1) == 7)
        time.sleep(0.2)
    assert server.offsets() == [[1, 2, 3], [4, 5, 6], [7]]
    assert [m["data"] for r in server.requests for m in r["body"]["messages"]] == list(range(1, 8))
    assert streams.committed("g", "events", 0) == 0  # not subscribed


def test_new_messages_are_pushed_as_they_come_and_paused_subscriptions_wait(endpoint):
    streams.create_topic("live", partitions=2)
    server = endpoint()
    add_subscription("live-hook", "live", "g", server.url, interval=0.1)
    with pushing():
        time.sleep(0.3)
        assert server.requests == []  # nothing to push: the idle partitions wait
        streams.publish("live", "a", partition=1)
        wait_for(lambda: streams.committed("g", "live", 1) == 1)
        pause_subscription("live-hook")
        time.sleep(0.2)
        streams.publish("live", "b", partition=0)
        time.sleep(0.4)
        assert streams.committed("g", "live", 0) == 0
        resume_subscription("live-hook")
        wait_for(lambda: streams.committed("g", "live", 0) == 1)
    assert sorted(server.offsets()) == [[1], [1]]


def test_two_pushers_never_push_one_partition_at_once_with_short_renewed_leases(endpoint):
    streams.create_topic("shared", partitions=2)
    streams.publish_many("shared", [{"data": n, "partition": n % 2} for n in range(24)])
    # Each POST outlasts the lease: only its renewal keeps the other pusher out.
    server = endpoint(delay=0.5)
    add_subscription("shared-hook", "shared", "g", server.url, batch_size=4, interval=0.1)
    with pushing("pusher-a", lease=0.3), pushing("pusher-b", lease=0.3):
        wait_for(
            lambda: streams.committed("g", "shared", 0) == streams.committed("g", "shared", 1) == 12
        )
    assert server.max_in_flight == 1
    for partition in (0, 1):
        assert server.offsets(partition) == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]


def test_two_runworker_processes_deliver_every_message_once(endpoint, tmp_path):
    streams.create_topic("jobs", partitions=2)
    streams.publish_many("jobs", [{"data": n, "partition": n % 2} for n in range(60)])
    server = endpoint(delay=0.1)
    add_subscription("jobs-hook", "jobs", "g", server.url, batch_size=5, interval=0.2)
    logs = [open(tmp_path / f"worker-{n}.log", "w") for n in range(2)]  # noqa: SIM115
    procs = [start_runworker("--poll-interval", "0.2", log=log) for log in logs]
    try:
        wait_for(
            lambda: streams.committed("g", "jobs", 0) == streams.committed("g", "jobs", 1) == 30,
            message="every message to be delivered",
        )
        streams.publish("jobs", "late", partition=0)
        wait_for(lambda: streams.committed("g", "jobs", 0) == 31)
    finally:
        started = time.monotonic()
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=15) for proc in procs]
        for log in logs:
            log.close()
    output = "\n".join((tmp_path / f"worker-{n}.log").read_text() for n in range(2))
    assert codes == [0, 0], output
    assert time.monotonic() - started < 5
    assert server.max_in_flight == 1
    for partition in (0, 1):
        delivered = [offset for batch in server.offsets(partition) for offset in batch]
        assert delivered == list(range(1, 31 + (partition == 0)))  # each once, in order
    assert not ConsumerOffset.objects.exclude(locked_by=None).exists()  # leases given back


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_timeouts_refused_connections_and_redirects_are_recorded_as_errors(endpoint, caplog):
    caplog.set_level(logging.WARNING, logger="queueadmin.streams")
    for name in ("slow", "closed", "moved"):
        streams.create_topic(name)
        streams.publish(name, {"n": 1})
    slow, moved = endpoint(delay=2.0), endpoint(status=302)
    add_subscription("slow", "slow", "g", slow.url, timeout=0.3, interval=60)
    add_subscription("closed", "closed", "g", f"http://127.0.0.1:{free_port()}/", interval=60)
    add_subscription("moved", "moved", "g", moved.url, interval=60)
    with pushing():
        wait_for(lambda: all(s.last_error for s in Subscription.objects.all()), timeout=10)
        time.sleep(0.2)
    assert subscription("slow").last_error == "timed out after 0.3s"
    assert subscription("closed").last_error.startswith("ConnectionRefusedError: ")
    assert subscription("moved").last_error.startswith("HTTP 302: ")
    assert len(moved.requests) == 1  # the redirect was not followed
    for name in ("slow", "closed", "moved"):
        assert streams.committed("g", name, 0) == 0
        assert subscription(name).last_error_at is not None
    warnings = [r for r in caplog.records if r.name == "queueadmin.streams"]
    assert len(warnings) == 3  # each failure logged once
    assert {r.levelno for r in warnings} == {logging.WARNING}


def test_a_slow_endpoint_does_not_hold_up_jobs_or_the_workers_shutdown(endpoint):
    streams.create_topic("slow")
    streams.publish("slow", 1)
    server = endpoint(delay=10.0)
    add_subscription("slow", "slow", "g", server.url, timeout=20)
    with BackgroundWorker(concurrency=1) as worker:
        wait_for(lambda: server.waiting, message="the POST")
        job = queue.enqueue("test.echo", {"x": 1})
        assert queue.wait(job.pk, timeout=5).status == "completed"
        started = time.monotonic()
        worker.stop()
    assert time.monotonic() - started < 3
    assert streams.committed("g", "slow", 0) == 0  # never answered: not committed


VALID = {"name": "hook", "topic": "t", "group": "g", "endpoint": "http://receiver:8080/in"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"group": None}, "group"),
        ({"topic": 5}, "topic"),
        ({"endpoint": "ftp://example.com/x"}, "endpoint"),
        ({"endpoint": "example.com/hook"}, "endpoint"),
        ({"endpoint": "http:///nohost"}, "endpoint"),
        ({"endpoint": "http://example.com:99999/"}, "endpoint"),
        ({"endpoint": "http://exa mple.com/"}, "endpoint"),
        ({"endpoint": 42}, "endpoint"),
        ({"partitions": [2]}, "partitions"),
        ({"partitions": [-1]}, "partitions"),
        ({"partitions": [0, 0]}, "partitions"),
        ({"partitions": "0"}, "partitions"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 10_001}, "batch_size"),
        ({"batch_size": 1.5}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
        ({"interval": 0}, "interval"),
        ({"interval": -1}, "interval"),
        ({"interval": 3601}, "interval"),
        ({"interval": float("nan")}, "interval"),
        ({"interval": "1 lightyear"}, "interval"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": 3600.5}, "timeout"),
    ],
)
def test_add_subscription_rejects_bad_values_naming_the_field(changes, field):
    streams.create_topic("t", partitions=2)
    arguments = {**VALID, **changes}
    with pytest.raises(InvalidStreamError, match=rf"^{field}:"):
        add_subscription(
            arguments.pop("name"),
            arguments.pop("topic"),
            arguments.pop("group"),
            arguments.pop("endpoint"),
            **arguments,
        )
    assert not Subscription.objects.exists()


def test_subscriptions_are_added_read_paused_resumed_and_removed():
    streams.create_topic("t", partitions=4)
    with pytest.raises(TopicNotFound):
        add_subscription("hook", "missing", "g", "https://example.com/")
    added = add_subscription("hook", "t", "g", "https://example.com/", partitions=[3, 1])
    assert (added.partitions, added.batch_size, added.interval, added.timeout) == (
        [1, 3],
        100,
        1.0,
        10.0,
    )
    assert added.active
    with pytest.raises(InvalidStreamError, match=r"^name:"):
        add_subscription("hook", "t", "other", "https://example.com/")
    with pytest.raises(InvalidStreamError, match=r"^group:"):
        add_subscription("again", "t", "g", "https://example.com/", partitions=[3])
    add_subscription("rest", "t", "g", "https://example.com/", partitions=[0, 2])
    Subscription.objects.filter(name="hook").update(next_attempt={"1": "2999-01-01T00:00:00"})
    assert not pause_subscription("hook").active
    resumed = resume_subscription("hook")
    assert resumed.active
    assert resumed.next_attempt == {}
    assert get_subscription("hook").endpoint == "https://example.com/"
    remove_subscription("hook")
    for call in (get_subscription, remove_subscription, pause_subscription, resume_subscription):
        with pytest.raises(SubscriptionNotFound):
            call("hook")


class FakePusher:
    made: list["FakePusher"] = []

    def __init__(self, worker_id):
        self.worker_id = worker_id
        self.ran = self.stopped = False
        FakePusher.made.append(self)

    def run(self):
        self.ran = True

    def stop(self):
        self.stopped = True


def test_each_worker_runs_a_pusher_unless_told_not_to(monkeypatch):
    monkeypatch.setattr("core.worker.runner.Pusher", FakePusher)
    FakePusher.made = []
    worker = run_burst()
    assert [(p.worker_id, p.ran, p.stopped) for p in FakePusher.made] == [
        (worker.worker_id, True, True)
    ]
    FakePusher.made = []
    assert run_burst(push=False).pusher is None
    assert FakePusher.made == []


def test_runworker_no_push_turns_the_pusher_off(monkeypatch):
    seen = []

    class FakeWorker:
        def __init__(self, options):
            seen.append(options.push)

        def run(self):
            return 0

    monkeypatch.setattr("core.management.commands.runworker.Worker", FakeWorker)
    call_command("runworker", "--burst", "--no-push")
    call_command("runworker", "--burst")
    assert seen == [False, True]


def test_clean_subscription_returns_the_cleaned_values_and_writes_nothing():
    streams.create_topic("t", partitions=4)
    values = clean_subscription(
        "hook", "t", "g", "http://receiver:8080/in", partitions=[3, 1], interval=2, timeout=5
    )
    assert values == {
        "name": "hook",
        "topic": Topic.objects.get(name="t"),
        "group": "g",
        "partitions": [1, 3],
        "endpoint": "http://receiver:8080/in",
        "batch_size": 100,
        "interval": 2.0,
        "timeout": 5.0,
    }
    assert isinstance(values["interval"], float)
    assert not Subscription.objects.exists()


def test_clean_subscription_leaves_the_subscription_being_changed_out_of_its_checks():
    streams.create_topic("t", partitions=2)
    hook = add_subscription("hook", "t", "g", "https://example.com/", partitions=[0])
    other = add_subscription("other", "t", "g", "https://example.com/", partitions=[1])
    changed = clean_subscription(
        "hook", "t", "g", "https://example.com/v2", partitions=[0], instance=hook
    )
    assert (changed["name"], changed["endpoint"]) == ("hook", "https://example.com/v2")
    with pytest.raises(InvalidStreamError, match=r"^group: subscription 'other' already"):
        clean_subscription("hook", "t", "g", "https://example.com/", instance=hook)
    with pytest.raises(InvalidStreamError, match=r"^name: "):
        clean_subscription("hook", "t", "g2", "https://example.com/", instance=other)


def test_concurrent_adds_of_one_partition_for_one_group_cannot_both_succeed(monkeypatch):
    streams.create_topic("t", partitions=2)
    checked, go = threading.Event(), threading.Event()
    save = Subscription.save

    def slow_save(self, *args, **kwargs):
        # The first add stops between its checks and its insert until told to go on.
        if self.name == "first":
            checked.set()
            go.wait(10)
        return save(self, *args, **kwargs)

    monkeypatch.setattr(Subscription, "save", slow_save)
    outcomes: dict[str, str] = {}

    def add(name: str, partitions: list[int]) -> None:
        try:
            add_subscription(name, "t", "g", "https://example.com/", partitions=partitions)
            outcomes[name] = "added"
        except InvalidStreamError as exc:
            outcomes[name] = str(exc)
        finally:
            connection.close()

    first = threading.Thread(target=add, args=("first", [0, 1]))
    first.start()
    assert checked.wait(10)
    second = threading.Thread(target=add, args=("second", [1]))
    second.start()
    second.join(0.5)  # with the topic locked it waits for the first to commit
    go.set()
    first.join(10)
    second.join(10)
    assert outcomes["first"] == "added"
    assert outcomes["second"].startswith("group: subscription 'first' already pushes t")
    assert list(Subscription.objects.values_list("name", flat=True)) == ["first"]


def test_a_delivered_batch_whose_offset_moved_meanwhile_gives_its_lease_back(endpoint, caplog):
    caplog.set_level(logging.WARNING, logger="queueadmin.streams")
    streams.create_topic("moved")
    streams.publish_many("moved", [{"data": n} for n in range(3)])
    server = endpoint()
    server.hold()
    add_subscription("moved", "moved", "g", server.url)
    # A long pusher interval: no later look takes and frees the row in passing.
    with pushing(interval=60, lease=60):
        wait_for(lambda: server.waiting, message="the POST")
        streams.commit("g", "moved", 0, 2)  # e.g. a reset on the dashboard
        row = ConsumerOffset.objects.get(group="g", topic="moved", partition=0)
        assert row.locked_by == "pusher-1"
        server.release()
        wait_for(
            lambda: ConsumerOffset.objects.get(pk=row.pk).locked_by is None,
            timeout=5,
            message="the lease to be given back",
        )
        assert ConsumerOffset.objects.get(pk=row.pk).locked_until is None
    assert streams.committed("g", "moved", 0) == 2  # the reset stands
    assert any("delivered but not committed" in r.getMessage() for r in caplog.records)


def test_a_delivered_batch_whose_lease_was_taken_leaves_the_new_holders_lease(endpoint, caplog):
    caplog.set_level(logging.WARNING, logger="queueadmin.streams")
    streams.create_topic("taken")
    streams.publish_many("taken", [{"data": n} for n in range(3)])
    server = endpoint()
    server.hold()
    add_subscription("taken", "taken", "g", server.url)
    with pushing(interval=60, lease=60):
        wait_for(lambda: server.waiting, message="the POST")
        rows = ConsumerOffset.objects.filter(group="g", topic="taken", partition=0)
        until = timezone.now() + timedelta(seconds=60)
        rows.update(locked_by="pusher-2", locked_until=until)  # the lease ran out, taken over
        server.release()
        wait_for(
            lambda: any("delivered but not committed" in r.getMessage() for r in caplog.records),
            timeout=5,
        )
        time.sleep(0.2)
        assert list(rows.values_list("locked_by", "locked_until", "offset")) == [
            ("pusher-2", until, 0)
        ]
