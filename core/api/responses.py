"""JSON responses and errors: every answer of the API is JSON, errors included."""

import logging
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core.exceptions import InvalidJobError, JobNotFound, JobStateError, TokenNotFound
from core.http import unservable

logger = logging.getLogger("queueadmin.api")

View = Callable[..., HttpResponse]


class ApiError(Exception):
    """An error answered as ``{"error": {"status", "message", …}}`` with its status code."""

    def __init__(self, status: int, message: str, *, headers=None, **details: Any) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.headers = headers or {}
        self.details = details

    def response(self) -> JsonResponse:
        body = {"error": {"status": self.status, "message": self.message, **self.details}}
        response = JsonResponse(body, status=self.status, encoder=DjangoJSONEncoder)
        response["Cache-Control"] = "no-store"  # as every answer: never cached, errors too
        for name, value in self.headers.items():
            response[name] = value
        return response


def json_response(data: Any, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, encoder=DjangoJSONEncoder, safe=False)
    response["Cache-Control"] = "no-store"
    return response


#: Library errors and the status codes they mean.
_ERRORS = (
    (JobNotFound, 404),
    (TokenNotFound, 404),
    (JobStateError, 409),
    (InvalidJobError, 400),
)


def _from_library(exc: Exception) -> ApiError | None:
    for kind, status in _ERRORS:
        if isinstance(exc, kind):
            return ApiError(status, str(exc))
    return None


def api_view(methods: Iterable[str]) -> Callable[[View], View]:
    """An API endpoint answering ``methods`` (GET implies HEAD) with JSON, errors too.

    CSRF is checked by the authentication of session requests (``core.api.auth``),
    not by the middleware, whose refusal would be an HTML page.
    """
    allowed = list(methods)
    if "GET" in allowed and "HEAD" not in allowed:
        allowed.append("HEAD")

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                if request.method not in allowed:
                    raise ApiError(
                        405,
                        f"{request.method} is not allowed here; use {', '.join(allowed)}",
                        headers={"Allow": ", ".join(allowed)},
                    )
                problem = unservable(request)
                if problem:
                    raise ApiError(400, problem)
                return view(request, *args, **kwargs)
            except ApiError as exc:
                return exc.response()
            except RequestDataTooBig:
                return ApiError(413, "the request body is too large").response()
            except Exception as exc:
                known = _from_library(exc)
                if known is not None:
                    return known.response()
                logger.exception("API error on %s %s", request.method, request.path)
                return ApiError(500, "internal error; see the server log").response()

        return wrapped

    return decorate
