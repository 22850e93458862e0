"""One HTTP delivery of a batch: the JSON body and the POST (urllib, no redirects).

Only this module talks HTTP; it never touches the database, so it can run on
a thread of its own while the pusher keeps the leases renewed. An endpoint's
``user:password@`` is sent as HTTP Basic authentication to the URL without it,
and masked in every error this module returns.
"""

import base64
import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterable

from core.models import Message
from core.streams.endpoints import mask_secrets, split_credentials

#: User-Agent of every push request.
USER_AGENT = "queueadmin-push"
#: Characters of an error response's body kept in ``Subscription.last_error``.
ERROR_BODY_CHARS = 200


def message_json(message: Message) -> dict:
    """A message as JSON: ``{"offset", "key", "type", "data", "created"}`` with
    ``created`` in ISO 8601; a bytes message has ``data`` in base64 and
    ``"encoding": "base64"``."""
    shown = {
        "offset": message.offset,
        "key": message.key,
        "type": message.type,
        "data": message.data,
        "created": message.created_at.isoformat(),
    }
    if message.body is not None:
        shown["data"] = base64.b64encode(bytes(message.body)).decode("ascii")
        shown["encoding"] = "base64"
    return shown


def body(topic: str, partition: int, messages: Iterable[Message]) -> bytes:
    """The POST body: ``{"topic", "partition", "messages": [message_json, …]}``."""
    return json.dumps(
        {
            "topic": topic,
            "partition": partition,
            "messages": [message_json(m) for m in messages],
        }
    ).encode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer other than 2xx: urllib would turn the POST into a
    GET without the batch, so it must not count as delivered."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(endpoint: str, data: bytes, timeout: float, subscription: str = "") -> str | None:
    """POST ``data`` to ``endpoint``; None on a 2xx answer, else what went wrong
    ("HTTP 500: <body>", "timed out after 10s", "ConnectionRefusedError: …"), with
    the endpoint's password masked."""
    error = _post(endpoint, data, timeout, subscription)
    return None if error is None else mask_secrets(error, endpoint)


def _post(endpoint: str, data: bytes, timeout: float, subscription: str) -> str | None:
    url, authorization = split_credentials(endpoint)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if authorization is not None:
        headers["Authorization"] = authorization
    if subscription:
        headers["X-Queueadmin-Subscription"] = subscription
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(65536)  # let the server finish its answer
        return None
    except urllib.error.HTTPError as exc:
        try:
            text = exc.read(4 * ERROR_BODY_CHARS).decode("utf-8", "replace").strip()
        except Exception:
            text = ""
        finally:
            exc.close()
        return f"HTTP {exc.code}: {text[:ERROR_BODY_CHARS] or exc.reason}"
    except urllib.error.URLError as exc:
        return describe(exc.reason, timeout)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return describe(exc, timeout)


def describe(error: object, timeout: float) -> str:
    """A one-line description of a failed request."""
    if isinstance(error, TimeoutError):
        return f"timed out after {timeout:g}s"
    if isinstance(error, BaseException):
        text = str(error)
        return f"{type(error).__name__}: {text}" if text else type(error).__name__
    return str(error)
