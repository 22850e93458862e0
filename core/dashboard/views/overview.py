"""The overview page: counts per queue and status, last-hour figures, workers."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from core import conf
from core.dashboard.access import staff_page
from core.insights import counts, metrics
from core.models import JobStatus, Worker


@staff_page("queueadmin.view_job")
def overview(request: HttpRequest) -> HttpResponse:
    """The page frame; its panels load right after it (see the fragments below)."""
    return render(request, "queueadmin/overview.html", {"statuses": JobStatus.values})


@staff_page("queueadmin.view_job")
def overview_counts(request: HttpRequest) -> HttpResponse:
    """Fragment: jobs per queue and status (estimates above the exact-count limit)."""
    queues = {conf.get("DEFAULT_QUEUE")}
    for names in Worker.objects.alive().values_list("queues", flat=True):
        queues.update(name for name in names if name != "*")
    totals, table = counts.queue_status_counts(sorted(queues))
    statuses = JobStatus.values
    rows = [(queue, [(s, cells[s]) for s in statuses]) for queue, cells in table.items()]
    context = {
        "statuses": statuses,
        "rows": rows,
        "total_cells": [(s, totals[s]) for s in statuses],
        "estimated": not totals["all"].exact,
        "limit": f"{conf.get('DASHBOARD_EXACT_COUNT_LIMIT'):,}",
    }
    return render(request, "queueadmin/overview.html#counts", context)


@staff_page("queueadmin.view_job")
def overview_metrics(request: HttpRequest) -> HttpResponse:
    """Fragment: throughput chart, wait and run percentiles, workers, oldest due job."""
    context = metrics.overview(timezone.now())
    bars = context["bars"]
    context["completed_hour"] = sum(bar.completed for bar in bars)
    context["failed_hour"] = sum(bar.failed for bar in bars)
    return render(request, "queueadmin/overview.html#metrics", context)
