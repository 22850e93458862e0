"""Operators' orders to workers: quiet (claim nothing new, finish what runs), stop
(finish what runs and exit, as on SIGTERM) and resume (take back a quiet order).

An order is written on the worker's row (``Worker.order``, with who gave it and
when); the worker reads its row at its next heartbeat, on whatever host it runs,
and reports what it does in ``Worker.state``. The order stays on the row while it
stands: a worker ordered "quiet" stays quiet until ``resume`` clears the order.
A stop cannot be taken back (the worker may be draining already), and a quiet
order never replaces a stop order. Stale workers (no recent heartbeat) take no
order: nothing would read it.
"""

import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.exceptions import InvalidWorkerOrderError
from core.models import Worker, WorkerOrder, WorkerState
from core.validation import Checks

logger = logging.getLogger("queueadmin.worker")

QUIET = WorkerOrder.QUIET.value
STOP = WorkerOrder.STOP.value
RESUME = "resume"
#: The orders an operator may give.
ORDERS = (QUIET, STOP, RESUME)

check = Checks(InvalidWorkerOrderError)

#: Of the live workers, those each order applies to: a worker that already has the
#: order keeps its first giver; a stop is never downgraded to quiet nor taken back.
_STOPPED = Q(order=STOP) | Q(state=WorkerState.STOPPING)
_TAKES = {
    QUIET: ~_STOPPED & ~Q(order=QUIET),
    STOP: ~_STOPPED,
    RESUME: ~_STOPPED & (Q(order=QUIET) | Q(state=WorkerState.QUIET)),
}


def _ids(worker_ids: Iterable[str] | None) -> list[str] | None:
    if worker_ids is None:
        return None
    if isinstance(worker_ids, str | bytes) or not isinstance(worker_ids, Iterable):
        raise check.fail("worker_ids", f"must be a list of worker ids or None, got {worker_ids!r}")
    ids = list(worker_ids)
    for worker_id in ids:
        check.lookup("worker_ids", worker_id)
    return ids


def clean_order(order: object) -> str:
    """``order`` if it is one of ORDERS, else InvalidWorkerOrderError."""
    if order not in ORDERS:
        raise check.fail("order", f"must be one of {', '.join(ORDERS)}, got {order!r}")
    return order


def order_workers(order: str, worker_ids: Iterable[str] | None, user: str) -> int:
    """Give ``order`` to the live workers among ``worker_ids`` (None: every live
    worker), recorded as given by ``user``; return how many workers took it."""
    order = clean_order(order)
    ids = _ids(worker_ids)
    user = check.text("user", user, Worker._meta.get_field("ordered_by").max_length)
    if ids == []:
        return 0
    now = timezone.now()
    workers = Worker.objects.alive(now).filter(_TAKES[order])
    if ids is not None:
        workers = workers.filter(id__in=ids)
    with transaction.atomic():
        taken = list(workers.select_for_update().values_list("id", flat=True))
        if not taken:
            return 0
        count = Worker.objects.filter(id__in=taken).update(
            order="" if order == RESUME else order, ordered_by=user, ordered_at=now
        )
    for worker_id in taken:
        logger.info("Worker id=%s order=%s by=%s", worker_id, order, user)
    return count
