"""Timing pages over HTTP: a threaded server (Django's runserver server class) running this
project's WSGI app with DEBUG off in a thread of this process, which reports each
request's server time and SQL query count in a ``Server-Timing`` header; or any
running server given by its URL, timed by wall time over the connection."""

import http.client
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.db import connections
from django.test import override_settings

#: ``Server-Timing: app;dur=12.3, queries;desc="7"``
_TIMING = re.compile(r'app;dur=(?P<ms>[\d.]+), queries;desc="(?P<queries>\d+)"')


@dataclass(frozen=True)
class Sample:
    """One request: its status, server time (None: the server does not say), wall time
    over the connection, and SQL queries (None: unknown)."""

    status: int
    server_ms: float | None
    wall_ms: float
    queries: int | None


class TimedApp:
    """A WSGI app that times the wrapped one (request in, response built) and counts the
    SQL it runs, then adds both as a ``Server-Timing`` header."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        queries = 0

        def count(execute, sql, params, many, context):
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        answer: list = []
        began = time.perf_counter()
        with connections["default"].execute_wrapper(count):
            body = self.app(environ, lambda *args: answer.append(args))
        ms = (time.perf_counter() - began) * 1000
        status, headers, *rest = answer[0]
        timing = ("Server-Timing", f'app;dur={ms:.3f}, queries;desc="{queries}"')
        start_response(status, [*headers, timing], *rest)
        return body


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


@contextmanager
def serving() -> Iterator[str]:
    """Serve this project with DEBUG off on a free loopback port; yield its base URL."""
    # An in-memory SQLite database (tests) exists only on this thread's connection.
    shared = {
        conn.alias: conn
        for conn in connections.all(initialized_only=True)
        if getattr(conn, "is_in_memory_db", lambda: False)()
    }
    for conn in shared.values():
        conn.inc_thread_sharing()
    hosts = ["127.0.0.1", "localhost"]
    with override_settings(DEBUG=False, ALLOWED_HOSTS=hosts):
        server = ThreadedWSGIServer(
            ("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False,
            connections_override=shared,
        )  # fmt: skip
        server.set_app(TimedApp(WSGIHandler()))
        thread = threading.Thread(target=server.serve_forever, name="dashboardbench-server")
        thread.daemon = True
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
            for conn in shared.values():
                conn.dec_thread_sharing()


class Fetcher:
    """GETs paths of one server over one kept-alive connection, with a session cookie."""

    def __init__(self, base_url: str, cookies: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
        self.conn: http.client.HTTPConnection | None = None

    def get(self, path: str, headers: dict[str, str] | None = None) -> Sample:
        """One request for ``path``: the sample, the body read and dropped."""
        sent = {"Cookie": self.cookie, **(headers or {})}
        for attempt in (1, 2):  # a server may close a kept-alive connection: reconnect
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
            began = time.perf_counter()
            try:
                self.conn.request("GET", self.prefix + path, headers=sent)
                response = self.conn.getresponse()
                response.read()
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
                continue
            wall = (time.perf_counter() - began) * 1000
            if response.will_close:
                self.close()
            match = _TIMING.search(response.getheader("Server-Timing") or "")
            return Sample(
                response.status,
                float(match["ms"]) if match else None,
                wall,
                int(match["queries"]) if match else None,
            )
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None
