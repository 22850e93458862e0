"""What the web layers (dashboard, API, admin) refuse of any request before serving it.

A path, query parameter or form field holding NUL or an unpaired surrogate is
text no database stores (PostgreSQL refuses it outright), so no page can use it:
``unservable(request)`` says so, and the layer answers 400 in its own format.
"""

from contextlib import suppress

from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.http.request import RawPostDataException

from core.validation import storable

#: Bodies whose fields Django parses into ``request.POST``.
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def unservable(request: HttpRequest) -> str | None:
    """Why ``request`` cannot be served, or None.

    Reading the form of a POST here also means a body too large for the
    settings is refused (Django's 400) before the view acts on anything.
    """
    texts = [request.path, *_items(request.GET)]
    if request.method == "POST" and request.content_type in _FORMS:
        # Keep the body, so a view can still read it after the form (unless the
        # form was read already, as the CSRF check does).
        with suppress(RawPostDataException):
            _ = request.body
        try:
            texts.extend(_items(request.POST))
        except MultiPartParserError as exc:
            return f"malformed form body: {exc}"
    if not storable(texts):
        return (
            "the request's path, query string or form holds a NUL character or an unpaired "
            "surrogate, which no page takes"
        )
    return None


def _items(data) -> list[str]:
    return [text for name, values in data.lists() for text in (name, *values)]
