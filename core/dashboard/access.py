"""Who may see the dashboard and who may act on it; what no page is given (unstorable text)."""

import logging
from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.views.decorators.http import require_POST

from core import readiness
from core.exceptions import JobStateError, QueueError
from core.http import unservable

View = Callable[..., HttpResponse]
logger = logging.getLogger("queueadmin.dashboard")
#: Set once the database answered with every migration applied (asked once per process).
_database_ready = False


def staff_page(permission: str) -> Callable[[View], View]:
    """A page for logged-in staff holding ``permission`` (e.g. ``queueadmin.view_job``).

    Anonymous and non-staff users are sent to the login page; staff without
    the permission get 403. When the database is missing, away or not migrated,
    the answer is a 503 saying so in one line.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            global _database_ready
            try:
                if not _database_ready:
                    problem = readiness.database_problem()
                    if problem:
                        return _unavailable(request, problem)
                    _database_ready = True
                return _serve(view, permission, request, *args, **kwargs)
            except DatabaseError:
                problem = readiness.database_problem()
                if problem is None:
                    raise
                return _unavailable(request, problem)

        return wrapped

    return decorate


def _unavailable(request: HttpRequest, problem: str) -> HttpResponse:
    """503 with the one line saying what is wrong with the database and what to run."""
    logger.error("dashboard %s: %s", request.path, problem)
    return _refused(503, problem)


def _serve(view: View, permission: str, request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """``view``, for logged-in staff holding ``permission``."""
    user = request.user
    if not (user.is_active and user.is_staff):
        if getattr(request, "htmx", False):
            # A fragment must not swap the login form into the page:
            # send the whole tab to the login, then back here.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = redirect_to_login(
                request.htmx.current_url_abs_path or "/", resolve_url("admin:login")
            ).url
            return response
        return redirect_to_login(request.get_full_path(), resolve_url("admin:login"))
    if not user.has_perm(permission):
        raise PermissionDenied(f"you need the {permission} permission")
    problem = unservable(request)
    if problem:
        return _refused(400, problem)
    try:
        return view(request, *args, **kwargs)
    except QueueError as exc:
        # What a view did not turn into a message of its own: the library's
        # refusal of the input (400), a missing object (404), a state (409).
        status = next((s for kind, s in _LIBRARY_ERRORS if isinstance(exc, kind)), None)
        if status is None:
            raise
        return _refused(status, str(exc))


#: Errors of the queue API a view may let through, and the status they answer.
_LIBRARY_ERRORS = ((ValueError, 400), (LookupError, 404), (JobStateError, 409))


def _refused(status: int, message: str) -> HttpResponse:
    """A one-line plain-text refusal."""
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def staff_action(permission: str) -> Callable[[View], View]:
    """A POST-only action for staff holding ``permission``; anything else is refused."""

    def decorate(view: View) -> View:
        return require_POST(staff_page(permission)(view))

    return decorate


def actor(request: HttpRequest) -> str:
    """The name recorded in job events for a dashboard action."""
    return request.user.get_username()


def needs(*permissions: str) -> Callable[[View], View]:
    """Also require ``permissions`` (under ``staff_page``, which handles the login):
    a user missing one gets 403."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            for permission in permissions:
                if not request.user.has_perm(permission):
                    raise PermissionDenied(f"you need the {permission} permission")
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
