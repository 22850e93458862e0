"""The pusher: the thread of each runworker that delivers push subscriptions.

Every STREAM_PUSH_INTERVAL it looks for active subscriptions with a due
partition (``next_attempt`` missing or past) and takes the lease of that
partition's ConsumerOffset row for the subscription's group with one
conditional UPDATE (free, expired, or already ours), so of all pushers on all
hosts exactly one delivers a given (group, partition) at a time. The winner
reads the batch after the committed offset and POSTs it on a thread of its
own (a slow endpoint holds up only its own partition; the worker's jobs never
wait); the pusher keeps the leases of batches in flight renewed, and on a 2xx
commits the batch's last offset, only if the lease is still its own and the
offset unmoved. A full batch is followed at once by the next one, up to
MAX_BATCHES_PER_TURN; any failure is recorded on the subscription and the
partition retried after the subscription's interval, uncommitted.

All database work happens on the pusher's own thread and connection.
"""

import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from core import conf, faults
from core.models import ConsumerOffset, Subscription
from core.streams import delivery, topics
from core.streams.endpoints import mask_secrets

logger = logging.getLogger("queueadmin.streams")

#: Batches one lease delivers back to back before the partition waits for the next look.
MAX_BATCHES_PER_TURN = 10
#: POSTs in flight at once per pusher, and per subscription.
MAX_IN_FLIGHT = 32
#: Seconds between looks while no subscription is active (a new one is picked up
#: within this; an idle worker does not ask twice a second for nothing).
IDLE_LOOK = 2.0
MAX_IN_FLIGHT_PER_SUBSCRIPTION = 8
#: Seconds a stopping pusher waits for POSTs in flight before giving their leases back.
STOP_WAIT = 1.0


@dataclass
class Turn:
    """A partition this pusher holds the lease of, with the batch it is POSTing."""

    row_id: int  # the ConsumerOffset row: the lease and the committed offset
    subscription_id: int
    name: str
    topic: str
    partition: int
    after: int  # the committed offset the batch follows
    last: int = 0  # the batch's last offset
    full: bool = False
    batches: int = 0


def due(subscription: Subscription, partition: int, now: datetime) -> bool:
    """Whether the partition may be pushed now (no retry or idle wait pending)."""
    when = (subscription.next_attempt or {}).get(str(partition))
    if not when:
        return True
    try:
        return datetime.fromisoformat(when) <= now
    except (TypeError, ValueError):
        return True


def partitions_of(subscription: Subscription) -> list[int]:
    """The partitions a subscription pushes (empty list: all of its topic's)."""
    count = subscription.topic.partitions
    chosen = subscription.partitions or range(count)
    return [p for p in chosen if isinstance(p, int) and 0 <= p < count]


class Pusher:
    """Deliver push subscriptions until ``stop()``; ``run()`` is the thread's body."""

    def __init__(
        self, worker_id: str, *, interval: float | None = None, lease: float | None = None
    ) -> None:
        self.worker_id = worker_id
        self.interval = interval or conf.get("STREAM_PUSH_INTERVAL")
        self.lease = lease or conf.get("STREAM_PUSH_LEASE_SECONDS")
        self.turns: dict[tuple[str, str, int], Turn] = {}
        self._results: queue.SimpleQueue[tuple[tuple[str, str, int], str | None]] = (
            queue.SimpleQueue()
        )
        self._wake = threading.Event()
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Stop looking for work; POSTs in flight get STOP_WAIT to finish."""
        self._stopping.set()
        self._wake.set()

    # -- the loop ------------------------------------------------------------------

    def run(self) -> None:
        next_look = next_renewal = 0.0
        backoff = faults.Backoff(first=self.interval, most=max(self.interval, 5.0))
        try:
            while not self._stopping.is_set():
                try:
                    self._collect()
                    now = time.monotonic()
                    if self.turns and now >= next_renewal:
                        self._renew()
                        next_renewal = now + self.lease / 3
                    if now >= next_look:
                        found = self._look()
                        next_look = now + (
                            self.interval if found else max(self.interval, IDLE_LOOK)
                        )
                    backoff.reset()
                except Exception as exc:
                    wait = backoff.step()
                    faults.log_failure(
                        logger, f"stream push failed; trying again in {wait:.1f}s", exc
                    )
                    faults.reset_connection()
                    next_look = time.monotonic() + wait
                wait = min(next_look, next_renewal if self.turns else next_look)
                self._wake.wait(max(wait - time.monotonic(), 0.001))
                self._wake.clear()
            self._finish()
        finally:
            connections.close_all()

    def _finish(self) -> None:
        """Collect what ends within STOP_WAIT, then give every lease back."""
        deadline = time.monotonic() + STOP_WAIT
        try:
            while self.turns and time.monotonic() < deadline:
                self._collect()
                self._wake.wait(0.02)
                self._wake.clear()
            ids = [turn.row_id for turn in self.turns.values()]
            self.turns.clear()
            ConsumerOffset.objects.filter(pk__in=ids, locked_by=self.worker_id).update(
                locked_by=None, locked_until=None
            )
        except Exception as exc:
            faults.log_failure(
                logger, f"stream pusher {self.worker_id} could not give its leases back", exc
            )

    def _look(self) -> bool:
        """Start a turn for each due partition whose lease this pusher wins; False when
        there is no active subscription at all."""
        now = timezone.now()
        subscriptions = list(Subscription.objects.filter(active=True).select_related("topic"))
        for subscription in subscriptions:
            busy = sum(t.subscription_id == subscription.pk for t in self.turns.values())
            for partition in partitions_of(subscription):
                if len(self.turns) >= MAX_IN_FLIGHT:
                    return True
                if busy >= MAX_IN_FLIGHT_PER_SUBSCRIPTION:
                    break
                key = (subscription.group, subscription.topic_id, partition)
                if key in self.turns or not due(subscription, partition, now):
                    continue
                taken = self._take(key, now)
                if taken is not None:
                    row_id, offset = taken
                    turn = Turn(
                        row_id, subscription.pk, subscription.name, key[1], partition, offset
                    )
                    try:
                        busy += self._next_batch(turn, subscription)
                    except Exception:
                        self._release(turn, quietly=True)
                        raise
        return bool(subscriptions)

    def _take(self, key: tuple[str, str, int], now: datetime) -> tuple[int, int] | None:
        """Lease the (group, topic, partition) row, creating it if missing; its
        id and committed offset when this pusher won it, else None."""
        group, topic, partition = key
        rows = ConsumerOffset.objects.filter(group=group, topic_id=topic, partition=partition)
        free = Q(locked_by__isnull=True) | Q(locked_until__lt=now) | Q(locked_by=self.worker_id)
        until = now + timedelta(seconds=self.lease)
        if not rows.filter(free).update(locked_by=self.worker_id, locked_until=until):
            if rows.exists():
                return None  # another pusher holds it
            ConsumerOffset.objects.bulk_create(
                [ConsumerOffset(group=group, topic_id=topic, partition=partition)],
                ignore_conflicts=True,
            )
            if not rows.filter(free).update(locked_by=self.worker_id, locked_until=until):
                return None
        return rows.filter(locked_by=self.worker_id).values_list("pk", "offset").first()

    def _next_batch(self, turn: Turn, subscription: Subscription) -> bool:
        """POST the batch after ``turn.after`` on a thread; True when one went out.
        Nothing to send: the partition waits for the subscription's interval."""
        messages = topics.read(
            turn.topic, turn.partition, after=turn.after, limit=subscription.batch_size
        )
        if not messages:
            self._record(turn, subscription.interval)
            self._release(turn)
            return False
        turn.last = messages[-1].offset
        turn.full = len(messages) >= subscription.batch_size
        turn.batches += 1
        key = (subscription.group, turn.topic, turn.partition)
        self.turns[key] = turn
        data = delivery.body(turn.topic, turn.partition, messages)
        args = (key, subscription.endpoint, data, subscription.timeout, subscription.name)
        threading.Thread(
            target=self._deliver, args=args, name=f"queueadmin-push-{turn.name}", daemon=True
        ).start()
        return True

    def _deliver(self, key, endpoint: str, data: bytes, timeout: float, name: str) -> None:
        try:
            error = delivery.post(endpoint, data, timeout, name)
        except BaseException as exc:  # a failed delivery must still end its turn
            error = mask_secrets(delivery.describe(exc, timeout), endpoint)
        self._results.put((key, error))
        self._wake.set()

    # -- outcomes --------------------------------------------------------------------

    def _collect(self) -> None:
        """Act on the POSTs that finished: commit and go on, or record the failure."""
        while True:
            try:
                key, error = self._results.get_nowait()
            except queue.Empty:
                return
            turn = self.turns.pop(key, None)
            if turn is None:
                continue
            try:
                self._outcome(turn, error)
            except Exception:
                logger.exception("stream push %s[%d]: recording the outcome failed", *key[1:])
                self._release(turn, quietly=True)

    def _outcome(self, turn: Turn, error: str | None) -> None:
        subscription = (
            Subscription.objects.filter(pk=turn.subscription_id).select_related("topic").first()
        )
        if error is not None:
            interval = subscription.interval if subscription else self.interval
            logger.warning(
                "push subscription %s: POST of %s[%d] offsets %d-%d failed: %s "
                "(not committed; retry in %gs)",
                turn.name,
                turn.topic,
                turn.partition,
                turn.after + 1,
                turn.last,
                error,
                interval,
            )
            self._record(turn, interval, error=error)
            self._release(turn)
            return
        now = timezone.now()
        committed = ConsumerOffset.objects.filter(
            pk=turn.row_id, locked_by=self.worker_id, offset=turn.after
        ).update(offset=turn.last, updated_at=now, locked_until=now + timedelta(seconds=self.lease))
        Subscription.objects.filter(pk=turn.subscription_id).update(
            last_success_at=now, last_error=""
        )
        if subscription is not None and subscription.last_error:
            logger.info("push subscription %s: delivering again", turn.name)
        if not committed:
            logger.warning(
                "push subscription %s: %s[%d] offsets %d-%d were delivered but not committed: "
                "the lease or the committed offset changed meanwhile",
                turn.name,
                turn.topic,
                turn.partition,
                turn.after + 1,
                turn.last,
            )
            # Still ours (the offset moved under it)? Give it back now, so no worker
            # waits out STREAM_PUSH_LEASE_SECONDS; another holder's lease is left alone.
            self._release(turn)
            return
        turn.after = turn.last
        go_on = turn.full and turn.batches < MAX_BATCHES_PER_TURN
        if go_on and subscription and subscription.active and not self._stopping.is_set():
            self._next_batch(turn, subscription)
        else:
            self._release(turn)

    def _record(self, turn: Turn, retry_in: float, *, error: str | None = None) -> None:
        """Set when the partition is due again (and the error, if any)."""
        now = timezone.now()
        with transaction.atomic():
            subscription = (
                Subscription.objects.select_for_update().filter(pk=turn.subscription_id).first()
            )
            if subscription is None:
                return
            when = (now + timedelta(seconds=retry_in)).isoformat()
            subscription.next_attempt = {**subscription.next_attempt, str(turn.partition): when}
            fields = ["next_attempt"]
            if error is not None:
                subscription.last_error, subscription.last_error_at = error, now
                fields += ["last_error", "last_error_at"]
            subscription.save(update_fields=fields)

    # -- leases ------------------------------------------------------------------------

    def _renew(self) -> None:
        """Push out the leases of every batch in flight, in one statement."""
        until = timezone.now() + timedelta(seconds=self.lease)
        ids = [turn.row_id for turn in self.turns.values()]
        ConsumerOffset.objects.filter(pk__in=ids, locked_by=self.worker_id).update(
            locked_until=until
        )

    def _release(self, turn: Turn, *, quietly: bool = False) -> None:
        try:
            ConsumerOffset.objects.filter(pk=turn.row_id, locked_by=self.worker_id).update(
                locked_by=None, locked_until=None
            )
        except Exception:
            if not quietly:
                raise  # else the lease runs out by itself
