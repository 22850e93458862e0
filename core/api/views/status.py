"""/api/status/<ref>: one job's progress for the page of the user it works for."""

from functools import wraps

from django.http import HttpRequest, HttpResponse

from core.api.responses import ApiError, View, api_view, json_response
from core.api.serialize import status_json
from core.models import Job
from core.models.jobs import job_id_of

#: Only the fields the status shows are read.
_FIELDS = ("id", "status", "progress", "output", "errors", "updated_at")

#: Any origin may poll a status it was given; no cookies are involved.
_CORS = {"Access-Control-Allow-Origin": "*"}


def _any_origin(view: View) -> View:
    """Put ``_CORS`` on every answer of ``view``: the status, a 404, a 405, a 500."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        for name, value in _CORS.items():
            response[name] = value
        return response

    return wrapped


@_any_origin
@api_view(["GET"])
def status(request: HttpRequest, ref: str) -> HttpResponse:
    """No login: the signed reference is the permission. Tampered or unknown → 404."""
    job_id = job_id_of(ref)
    job = None if job_id is None else Job.objects.filter(pk=job_id).only(*_FIELDS).first()
    if job is None:
        raise ApiError(404, "no such job status")
    return json_response(status_json(job))
