"""/api/health: the health checks, for uptime monitors and alerting (no login)."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

from core import maintenance
from core.api.responses import api_view, json_response
from core.insights import health as checks


@never_cache
@api_view(["GET"])
def health(request: HttpRequest) -> HttpResponse:
    """Public on purpose (no login): 200 when every check passes, else 503. The body holds
    only check names, ok flags, short messages, counts and ages (``Check.as_json``)."""
    tasks = {name: task.interval for name, task in maintenance.TASKS.items()}
    report = checks.run(tasks)
    response = json_response(report.as_json(), status=200 if report.ok else 503)
    # A 503 is this view's answer, not a server error: keep probes polling an unhealthy
    # queue every few seconds from filling django.request's error log.
    response._has_been_logged = True
    return response
