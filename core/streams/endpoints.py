"""Credentials in push endpoints: ``https://user:password@host/path``.

The userinfo is sent as HTTP Basic authentication to the URL without it, and the
password is never shown or logged: every display (admin, dashboard, logs,
``Subscription.last_error``) goes through ``masked_endpoint`` or ``mask_secrets``.
"""

import base64
from urllib.parse import unquote

#: What stands for a password in a shown endpoint.
PASSWORD_MASK = "***"


def _netloc(url: str) -> tuple[str, str, str, str] | None:
    """(scheme "://", userinfo, host part, the rest) of ``url``, or None when it has no
    userinfo. Splits as urllib does: the netloc ends at the first / ? or #, the
    userinfo at its last @."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    userinfo, at, host = rest[:end].rpartition("@")
    if not at:
        return None
    return scheme + sep, userinfo, host, rest[end:]


def masked_endpoint(url: object) -> str:
    """``url`` with the password of its ``user:password@`` replaced by ``***``
    (``https://user:***@host/path``); any other URL, valid or not, unchanged."""
    text = "" if url is None else str(url)
    parts = _netloc(text)
    if parts is None or ":" not in parts[1]:
        return text
    scheme, userinfo, host, rest = parts
    return f"{scheme}{userinfo.partition(':')[0]}:{PASSWORD_MASK}@{host}{rest}"


def endpoint_password(url: str) -> str | None:
    """The password of ``url``'s userinfo as written (None: there is none)."""
    parts = _netloc(url)
    if parts is None or ":" not in parts[1]:
        return None
    return parts[1].partition(":")[2]


def split_credentials(url: str) -> tuple[str, str | None]:
    """``url`` without its userinfo, and the ``Authorization`` header value for
    HTTP Basic authentication with it (None when the URL has no userinfo).
    Percent-escapes in the user name and password are decoded first."""
    parts = _netloc(url)
    if parts is None:
        return url, None
    scheme, userinfo, host, rest = parts
    user, _, password = userinfo.partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
    return f"{scheme}{host}{rest}", f"Basic {token}"


def secrets_of(url: str) -> list[str]:
    """What must not appear in text about ``url``: its password (as written and
    decoded) and its Basic authentication token."""
    password = endpoint_password(url)
    if not password:
        return []
    found = {password, unquote(password), split_credentials(url)[1].partition(" ")[2]}
    return sorted((s for s in found if s), key=len, reverse=True)


def mask_secrets(text: str, url: str) -> str:
    """``text`` (an error, a log line) with ``url``'s password, and its masked form
    for the URL itself, in place of any appearance of the credentials."""
    if not text:
        return text
    for secret in secrets_of(url):
        text = text.replace(secret, PASSWORD_MASK)
    return text


def unmask_endpoint(submitted: str, stored: str) -> str:
    """The endpoint a form sent: with ``***`` as its password, the stored password
    goes back in, provided the rest of the userinfo and host are those of
    ``stored`` (a changed host never receives the stored password). Raises
    ValueError saying to type the password again otherwise."""
    if endpoint_password(submitted) != PASSWORD_MASK:
        return submitted
    old, new = _netloc(stored), _netloc(submitted)
    if (
        old is None
        or new is None
        or endpoint_password(stored) is None
        or (old[0].lower(), old[1].partition(":")[0], old[2].lower())
        != (new[0].lower(), new[1].partition(":")[0], new[2].lower())
    ):
        raise ValueError(
            f"type the password again: {PASSWORD_MASK} keeps the stored password only for "
            "the same user, scheme, host and port"
        )
    scheme, userinfo, host, rest = new
    return f"{scheme}{userinfo.partition(':')[0]}:{endpoint_password(stored)}@{host}{rest}"
