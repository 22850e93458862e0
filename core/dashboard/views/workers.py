"""The workers page: every registered runworker process, its health and the jobs it
runs now, recent worker deaths, and the operator's orders (quiet, stop, resume).

Orders go through ``core.worker.orders``: they are written on the worker's row and
obeyed at the worker's next heartbeat, on whatever host it runs.
"""

from collections import defaultdict
from datetime import datetime

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from core.dashboard.access import actor, staff_action, staff_page
from core.dashboard.redirects import redirect_to, safe_next
from core.insights.humanize import age
from core.models import Job, JobStatus, Worker, WorkerDeath, WorkerOrder, WorkerState
from core.worker import orders

#: Who may give orders to workers.
CHANGE = "queueadmin.change_worker"
#: Worker deaths listed on the page, newest first.
DEATHS = 20
#: Running jobs listed per worker; the rest are behind the "all its jobs" link.
JOBS_SHOWN = 10
#: Columns of a running job the rows show (never its payload).
_JOB_FIELDS = ("id", "job_type", "queue", "locked_by", "started_at", "seen_running_at")

#: What each order tells the operator it does.
_EFFECT = {
    orders.QUIET: "claims nothing new and finishes what it runs",
    orders.STOP: "finishes what it runs and exits, as on SIGTERM",
    orders.RESUME: "claims jobs again",
}


class StuckThread:
    """One handler thread its worker reports silent for too long."""

    def __init__(self, entry: object) -> None:
        entry = entry if isinstance(entry, dict) else {}
        self.thread = str(entry.get("thread") or "?")
        job = entry.get("job")
        self.job = job if isinstance(job, int) and not isinstance(job, bool) else None
        silent = entry.get("silent_seconds")
        self.silent = silent if isinstance(silent, int | float) else None


def pending_order(worker: Worker) -> tuple[str, bool] | None:
    """(the order standing on ``worker``'s row, whether it is obeyed yet), or None."""
    if worker.order == WorkerOrder.QUIET:
        return WorkerOrder.QUIET, worker.state == WorkerState.QUIET
    if worker.order == WorkerOrder.STOP:
        return WorkerOrder.STOP, worker.state == WorkerState.STOPPING
    if worker.ordered_at is not None and worker.state == WorkerState.QUIET:
        return orders.RESUME, False  # the quiet order was taken back; not obeyed yet
    return None


def _annotate(workers: list[Worker], now: datetime) -> list[Worker]:
    """Give each worker its flags, pending order, stuck threads and running jobs."""
    running = defaultdict(list)
    if workers:
        jobs = (
            Job.objects.filter(status=JobStatus.PROCESSING, locked_by__in=[w.id for w in workers])
            .only(*_JOB_FIELDS)
            .order_by("id")
        )
        for job in jobs:
            running[job.locked_by].append(job)
    for worker in workers:
        worker.stale = worker.is_stale(now)
        stopped = worker.order == WorkerOrder.STOP or worker.state == WorkerState.STOPPING
        quiet = worker.order == WorkerOrder.QUIET or worker.state == WorkerState.QUIET
        worker.can_quiet = not worker.stale and not stopped and worker.order != WorkerOrder.QUIET
        worker.can_stop = not worker.stale and not stopped
        worker.can_resume = not worker.stale and not stopped and quiet
        worker.pending = pending_order(worker)
        worker.stuck_threads = [StuckThread(entry) for entry in worker.stuck or []]
        jobs = running[worker.id]
        worker.jobs, worker.more_jobs = jobs[:JOBS_SHOWN], max(len(jobs) - JOBS_SHOWN, 0)
    return workers


@staff_page("queueadmin.view_worker")
def workers(request: HttpRequest) -> HttpResponse:
    """Workers, live ones first, with their state, orders, health and running jobs;
    stale heartbeats and stuck threads flagged; the latest worker deaths."""
    now = timezone.now()
    target = request.htmx.target if request.htmx else None
    context = {"now": now, "can_order": request.user.has_perm(CHANGE)}
    if target != "worker-deaths":
        rows = _annotate(list(Worker.objects.order_by("-heartbeat_at", "id")), now)
        alive = sum(not worker.stale for worker in rows)
        context.update(
            rows=rows,
            alive=alive,
            back=reverse("queueadmin:workers"),
            order_url=reverse("queueadmin:worker-order"),
            jobs_url=reverse("queueadmin:jobs"),
        )
    if target != "worker-table":
        context["deaths"] = list(WorkerDeath.objects.all()[:DEATHS])
        context["deaths_shown"] = DEATHS
    template = "queueadmin/workers.html"
    if target == "worker-table":
        template += "#table"
    elif target == "worker-deaths":
        template += "#deaths"
    return render(request, template, context)


def _refused(message: str) -> HttpResponse:
    return HttpResponse(message + "\n", status=400, content_type="text/plain; charset=utf-8")


def _why_not(worker_id: str, order: str) -> str:
    """Why the worker ``worker_id`` took no ``order``."""
    worker = Worker.objects.filter(id=worker_id).first()
    if worker is None:
        return f"Worker {worker_id} is not registered (it has exited); nothing was ordered."
    if worker.is_stale():
        return (
            f"Worker {worker_id} is stale (last heartbeat {age(worker.heartbeat_at)}): "
            "nothing would read the order, so none was given."
        )
    if worker.order == WorkerOrder.STOP or worker.state == WorkerState.STOPPING:
        return f"Worker {worker_id} is ordered to stop already; nothing changed."
    if order == orders.RESUME:
        return f"Worker {worker_id} is not quiet; nothing to resume."
    return f"Worker {worker_id} has the {order} order already; nothing changed."


@staff_action(CHANGE)
def worker_order(request: HttpRequest) -> HttpResponse:
    """Give an order (quiet, stop, resume) to one worker (``worker``) or every live
    worker (``all=1``), recorded with the acting user."""
    order = orders.clean_order(request.POST.get("order", ""))
    ids = [worker_id for worker_id in request.POST.getlist("worker") if worker_id]
    everyone = request.POST.get("all") == "1"
    if bool(ids) == everyone:
        return _refused("Name the workers (worker=<id>) or all of them (all=1), not both.")
    count = orders.order_workers(order, None if everyone else ids, actor(request))
    if count and everyone:
        messages.success(
            request,
            f"{order.capitalize()} ordered to {count} live worker(s); at its next "
            f"heartbeat each one {_EFFECT[order]}.",
        )
    elif count:
        names = ", ".join(ids)
        messages.success(
            request, f"Worker {names}: {order} ordered; at its next heartbeat it {_EFFECT[order]}."
        )
    elif everyone:
        messages.info(request, f"No live worker took the {order} order; nothing changed.")
    else:
        messages.error(request, _why_not(ids[0], order))
    return redirect_to(request, safe_next(request, reverse("queueadmin:workers")))
