"""Who the server acts as: no key (reads only), or an API key checked as the JSON API
checks it, at startup and again at every call, so a revoked key or a creator who lost a
permission stops working at once. Writes need ``--allow-writes`` and a read-write key;
they are recorded with the actor ``api key <name>``, as the JSON API records them."""

from dataclasses import dataclass

from django.http import HttpRequest

from core.api.auth import authenticate
from core.api.responses import ApiError

#: What the server says when a write tool is called without --allow-writes.
WRITES_OFF = (
    "writes are off: this server is read-only. An operator can start it with "
    "`manage.py queueadmin_mcp --allow-writes` and a read-write API key in QUEUEADMIN_API_KEY"
)
#: ... and with --allow-writes but no key.
NO_KEY = (
    "writes need a read-write API key: set QUEUEADMIN_API_KEY (or --api-key) for "
    "`manage.py queueadmin_mcp --allow-writes`"
)
#: The actor of reads made without a key (they change nothing; nothing records it).
LOCAL = "queueadmin_mcp"


class Refused(Exception):
    """A call the key or the server's options do not allow (its message says why)."""


def _request(secret: str) -> HttpRequest:
    """A request carrying the key as the JSON API receives it, for its checks."""
    request = HttpRequest()
    request.META["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return request


@dataclass(frozen=True)
class Access:
    """The server's key (or None) and whether it was started with --allow-writes."""

    secret: str | None = None
    allow_writes: bool = False

    def _check(self, permissions: tuple[str, ...], write: bool) -> str:
        if self.secret is None:
            return LOCAL
        try:
            return authenticate(_request(self.secret), permissions, write=write).actor
        except ApiError as exc:
            raise Refused(exc.message) from None

    def read(self, *permissions: str) -> str:
        """Check a read (nothing to check without a key); return the actor."""
        return self._check(permissions, write=False)

    def write(self, *permissions: str) -> str:
        """Check a write; return its actor (``api key <name>``) or raise Refused."""
        if not self.allow_writes:
            raise Refused(WRITES_OFF)
        if self.secret is None:
            raise Refused(NO_KEY)
        return self._check(permissions, write=True)

    def key_problem(self) -> str | None:
        """Why the key cannot be used at all (unknown, revoked, expired, suspended), or None."""
        try:
            self.read("queueadmin.view_job")
        except Refused as exc:
            return str(exc)
        return None
