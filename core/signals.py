"""Job lifecycle signals: connect receivers to react when jobs are added, start and finish.

Every job signal is sent with ``sender=Job`` (``core.models.Job``) through ``send``,
which calls the receivers with ``send_robust``: a receiver that raises is logged
on the ``queueadmin.signals`` logger and never changes a job's outcome, nor
stops the enqueue or the worker. Senders ask ``has_listeners`` first, so while
nothing is connected no arguments are built. Imports only Django (the lowest layer).
"""

import logging
from typing import Any

from django.dispatch import Signal

logger = logging.getLogger("queueadmin.signals")

#: Sent once per job that ``enqueue``/``enqueue_many`` actually inserted (so also
#: for cron, the ``django.tasks`` backend, the API, the dashboard and dead-letter
#: jobs), after the inserting transaction commits: a rolled-back enqueue sends
#: nothing, and a job whose idempotency key already existed (``deduplicated``)
#: sends nothing. Sent in the process and thread that enqueued.
#: Keyword arguments: ``job`` (the ``Job`` as returned by enqueue, not re-read).
job_enqueued = Signal(use_caching=True)

#: Sent by the worker process once per attempt, just before the handler runs
#: (for a ``force_kill_on_timeout`` job, before its child process is started;
#: the child sends nothing). Sent on the thread that runs the attempt.
#: Keyword arguments: ``job_id``, ``job_type``, ``queue``, ``attempt`` (1 on the
#: first run; the count of claims, so a run after a durable wait repeats the
#: number), ``worker_id``.
job_started = Signal(use_caching=True)

#: Sent by the worker process once per attempt that sent ``job_started``, after
#: the attempt's outcome was written (a receiver reading the job sees its new
#: status). Sent on the worker's completer thread, which writes outcomes in
#: batches: keep receivers quick, or hand the work to a job of their own.
#: Keyword arguments: ``job_id``, ``job_type``, ``queue``, ``attempt``,
#: ``worker_id``, ``outcome``, ``output``, ``error``.
#:
#: ``outcome`` is one of ``OUTCOMES``: ``"completed"`` (``output`` is the job's
#: output); ``"retrying"`` (the attempt failed, the job is pending again after its
#: backoff); ``"failed"`` (failed for good: attempts used up or no handler);
#: ``"waiting"`` (a durable sleep or token wait parked the job); ``"deferred"``
#: (``ctx.defer``: the job is pending again later with its new state);
#: ``"cancelled"`` (an operator cancelled the job while it ran: its result was
#: not written); ``"discarded"`` (the result was not written for another reason:
#: the lease ran out and the job was reclaimed, or the database was away at shutdown);
#: ``"released"`` (the worker shut down before the handler returned and gave the
#: job back, pending, the attempt not counted).
#: ``error`` is the error entry recorded in ``job.errors`` (``attempt``, ``at``,
#: ``type``, ``message``, ``traceback``, ``reason``) for ``"retrying"`` and
#: ``"failed"``, otherwise None; ``output`` is None unless ``"completed"``.
job_finished = Signal(use_caching=True)

#: Sent when a worker thread or process dies unexpectedly, with ``sender=Worker``
#: (``core.models.Worker``). ``kind="process"``: a ``runworker --processes`` child
#: exited unasked (sent by the supervisor process, before it starts a replacement).
#: ``kind="thread"``: a handler thread of a worker ended outside a job (an error in
#: the worker itself, or its ``WORKER_SETUP`` raised; sent by that worker process).
#: Keyword arguments: ``worker_id`` (the Worker row's id, or ``host:pid`` for a
#: process that never registered), ``kind``, ``reason`` (a short text), ``exitcode``
#: (the process's exit code, else None), ``signal_name`` (the name of the signal
#: that killed the process, e.g. ``"SIGKILL"``, else None), ``thread`` (the thread's name,
#: else None).
worker_died = Signal(use_caching=True)

#: Every ``outcome`` ``job_finished`` sends.
OUTCOMES = (
    "completed",
    "retrying",
    "failed",
    "waiting",
    "deferred",
    "cancelled",
    "discarded",
    "released",
)


def send(signal: Signal, sender: Any, **kwargs: Any) -> None:
    """Call ``signal``'s receivers; log (never raise) what any of them raised."""
    for receiver, result in signal.send_robust(sender, **kwargs):
        if isinstance(result, Exception):
            logger.error(
                "receiver %s of %s raised %s: %s",
                getattr(receiver, "__qualname__", receiver),
                _NAMES.get(signal, "a queueadmin signal"),
                type(result).__name__,
                result,
                exc_info=result,
            )


_NAMES = {
    job_enqueued: "job_enqueued",
    job_started: "job_started",
    job_finished: "job_finished",
    worker_died: "worker_died",
}
