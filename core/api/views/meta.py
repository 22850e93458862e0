"""/api/metrics, /api/openapi.json, and the JSON 404 for every other /api/ path."""

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from core.api import openapi, prometheus
from core.api.auth import authenticate
from core.api.responses import ApiError, api_view, json_response


@api_view(["GET"])
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text exposition format (version 0.0.4)."""
    authenticate(request, "queueadmin.view_job")
    return HttpResponse(
        prometheus.render(), content_type="text/plain; version=0.0.4; charset=utf-8"
    )


@api_view(["GET"])
def openapi_json(request: HttpRequest) -> HttpResponse:
    """The API's OpenAPI 3.1 description (no login: it describes, it does not show data)."""
    root = reverse("queueadmin_api:openapi").removesuffix("openapi.json")
    return json_response(openapi.document(request.build_absolute_uri(root)))


@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    raise ApiError(
        404, f"no API endpoint at {request.path}; see {reverse('queueadmin_api:openapi')}"
    )
