"""The workers page: every registered runworker process and its health."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from core.dashboard.access import staff_page
from core.models import Worker


@staff_page("queueadmin.view_worker")
def workers(request: HttpRequest) -> HttpResponse:
    """Workers, live ones first; stale heartbeats flagged."""
    now = timezone.now()
    rows = [(worker, worker.is_stale(now)) for worker in Worker.objects.order_by("-heartbeat_at")]
    context = {"rows": rows, "alive": sum(not stale for _, stale in rows), "now": now}
    template = "queueadmin/workers.html"
    if request.htmx and request.htmx.target == "worker-table":
        template += "#table"
    return render(request, template, context)
