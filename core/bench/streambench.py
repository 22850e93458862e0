"""streambench: publish, publish_many, fetch+commit and concurrent publishers on the
configured database, in a topic of its own.

Every function returns numbers; ``manage.py streambench`` prints them. The
topic BENCH_TOPIC has one partition per phase: the one-at-a-time publishes go
to SINGLE, the batches to BATCH (which the fetch phase then reads as the
consumer group BENCH_GROUP), the concurrent publishers to CONCURRENT.
"""

import contextlib
import threading
import time
from dataclasses import dataclass

from django.db import connections
from django.db.models import Count, Max, Min

from core import streams
from core.bench.options import CountOption
from core.exceptions import TopicNotFound
from core.models import Message

#: The topic every bench message goes to (deleted afterwards unless kept).
BENCH_TOPIC = "streambench"
#: The consumer group of the fetch phase.
BENCH_GROUP = "streambench"
#: The partition of each phase.
SINGLE, BATCH, CONCURRENT = 0, 1, 2

#: The phases, in the order they run.
PHASES = ("single", "batch", "fetch", "concurrent")
#: The count options of ``manage.py streambench``.
COUNTS = (
    CountOption(
        "single",
        2000,
        "messages published one at a time, alone and (in all) by the concurrent publishers",
    ),
    CountOption(
        "messages", 20000, "messages published with publish_many and read by the consumer group"
    ),
    CountOption("batch", 1000, "messages per publish_many call"),
    CountOption("fetch", 1000, "messages per fetch of the consumer group"),
    CountOption(
        "publishers",
        4,
        "threads publishing one at a time to one partition at once",
        metavar="K",
    ),
)


@dataclass
class Rate:
    """Messages handled and the wall time they took."""

    messages: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class Concurrent(Rate):
    """The concurrent phase: its rate, and whether the partition's offsets came out dense."""

    publishers: int = 1
    #: Offsets of the partition are exactly 1..messages (and the next one is messages + 1).
    dense: bool = False
    detail: str = ""


def _data(n: int) -> dict:
    return {"n": n, "text": "streambench message"}


def cleanup() -> None:
    """Delete the bench topic with its messages and offsets, if it exists."""
    with contextlib.suppress(TopicNotFound):
        streams.delete_topic(BENCH_TOPIC)


def setup() -> None:
    """A fresh bench topic (a kept one from an earlier run is deleted first)."""
    cleanup()
    streams.create_topic(BENCH_TOPIC, partitions=3)


def bench_single(count: int) -> Rate:
    """Messages per second published one at a time (one transaction each)."""
    started = time.perf_counter()
    for n in range(count):
        streams.publish(BENCH_TOPIC, _data(n), partition=SINGLE)
    return Rate(count, time.perf_counter() - started)


def _publish_batches(count: int, batch: int) -> None:
    for start in range(0, count, batch):
        streams.publish_many(
            BENCH_TOPIC,
            [
                {"data": _data(n), "partition": BATCH}
                for n in range(start, min(start + batch, count))
            ],
        )


def bench_batch(count: int, batch: int) -> Rate:
    """Messages per second published with publish_many, ``batch`` per call."""
    started = time.perf_counter()
    _publish_batches(count, batch)
    return Rate(count, time.perf_counter() - started)


def bench_fetch(count: int, page: int, batch: int) -> Rate:
    """Messages per second one consumer group reads with fetch + commit, ``page``
    messages per fetch, from the start of the BATCH partition to its end (first
    published there, untimed, if the batch phase did not run)."""
    if streams.end_offset(BENCH_TOPIC, BATCH) == 0:
        _publish_batches(count, batch)
    read = 0
    started = time.perf_counter()
    while True:
        messages = streams.fetch(BENCH_GROUP, BENCH_TOPIC, BATCH, page)
        if not messages:
            break
        streams.commit(BENCH_GROUP, BENCH_TOPIC, BATCH, messages[-1].offset)
        read += len(messages)
    return Rate(read, time.perf_counter() - started)


def bench_concurrent(count: int, publishers: int) -> Concurrent:
    """Messages per second ``publishers`` threads publish one at a time to one
    partition (``count`` in all, each thread on its own connection), and
    whether the offsets came out dense: exactly 1..count."""
    shares = [count // publishers + (i < count % publishers) for i in range(publishers)]
    barrier = threading.Barrier(publishers + 1)
    errors: list[BaseException] = []

    def publisher(share: int) -> None:
        try:
            barrier.wait()
            for n in range(share):
                streams.publish(BENCH_TOPIC, _data(n), partition=CONCURRENT)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=publisher, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    stats = Message.objects.filter(topic_id=BENCH_TOPIC, partition=CONCURRENT).aggregate(
        count=Count("id"), first=Min("offset"), last=Max("offset")
    )
    end = streams.end_offset(BENCH_TOPIC, CONCURRENT)
    dense = (stats["count"], stats["first"], stats["last"], end) == (count, 1, count, count)
    detail = f"{stats['count']:,} messages, offsets {stats['first']}..{stats['last']}, end {end}"
    return Concurrent(count, elapsed, publishers=publishers, dense=dense, detail=detail)


def run(only: list[str], opts: dict) -> tuple[list[tuple[str, str, str]], bool]:
    """Run the ``only`` phases with the command's options in a fresh bench topic; the
    table's rows, and whether the concurrent publishers' offsets came out dense."""
    rows, dense = [], True
    setup()
    try:
        if "single" in only:
            rows.append(("publish (one at a time)", bench_single(opts["single"]), ""))
        if "batch" in only:
            rate = bench_batch(opts["messages"], opts["batch"])
            rows.append((f"publish_many (batch={opts['batch']})", rate, ""))
        if "fetch" in only:
            rate = bench_fetch(opts["messages"], opts["fetch"], opts["batch"])
            rows.append((f"fetch + commit (fetch={opts['fetch']})", rate, ""))
        if "concurrent" in only:
            result = bench_concurrent(opts["single"], opts["publishers"])
            dense = result.dense
            extra = ", dense: yes" if dense else f", dense: NO: {result.detail}"
            rows.append((f"concurrent publish ({result.publishers} publishers)", result, extra))
    finally:
        if not opts["keep"]:
            cleanup()
    table = [
        (name, f"{rate.per_s:,.0f} msgs/s", f"({rate.messages:,} messages{extra})")
        for name, rate, extra in rows
    ]
    return table, dense
