"""A real `manage.py queueadmin_mcp` subprocess on the test database, driven by the mcp
SDK's own client (stdio_client + ClientSession) from synchronous tests: the client runs
in an event loop on a thread of its own, and each call waits for its answer."""

import asyncio
import json
import os
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from mcp import ClientSession, StdioServerParameters, stdio_client

from tests.workers import ROOT, database_url

#: Seconds any one call (or the start) may take.
TIMEOUT = 60


class ToolFailed(AssertionError):
    """A tool answered with an error (its text is the message)."""


class McpServer:
    """The server started with ``args`` (and ``env``) until the block ends; stderr goes
    to ``log``."""

    def __init__(self, *args: str, log: Path, env: dict[str, str] | None = None) -> None:
        environ = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DJANGO_SETTINGS_MODULE": "tests.mcp.settings",
            **(env or {}),
        }
        self.params = StdioServerParameters(
            command=sys.executable,
            args=[str(ROOT / "manage.py"), "queueadmin_mcp", *args],
            env=environ,
            cwd=str(ROOT),
        )
        self.log_path = log
        self._loop = asyncio.new_event_loop()
        self._ready: Future = Future()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),))

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        try:
            with self.log_path.open("w") as log:
                async with (
                    stdio_client(self.params, errlog=log) as (read, write),
                    ClientSession(read, write) as session,
                ):
                    self.initialized = await session.initialize()
                    self.session = session
                    self._ready.set_result(True)
                    await self._stop.wait()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            raise

    def __enter__(self) -> "McpServer":
        self._thread.start()
        try:
            self._ready.result(TIMEOUT)
        except Exception as exc:
            raise AssertionError(f"the server did not start: {exc}\n{self.log()}") from exc
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(TIMEOUT)
        assert not self._thread.is_alive(), "the MCP client did not stop"

    def log(self) -> str:
        """What the server wrote to stderr so far."""
        return self.log_path.read_text() if self.log_path.exists() else ""

    def run(self, coroutine) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(TIMEOUT)

    def call_raw(self, name: str, /, **arguments: Any):
        """The CallToolResult of tool ``name``."""
        return self.run(self.session.call_tool(name, arguments))

    def call(self, name: str, /, **arguments: Any) -> Any:
        """Tool ``name``'s structured result; ToolFailed with its text on a tool error."""
        result = self.call_raw(name, **arguments)
        text = "".join(getattr(block, "text", "") for block in result.content)
        if result.is_error:
            raise ToolFailed(text)
        assert json.loads(text) == result.structured_content  # the text says the same
        return result.structured_content

    def error(self, name: str, /, **arguments: Any) -> str:
        """The text of the tool error that calling ``name`` must give."""
        result = self.call_raw(name, **arguments)
        text = "".join(getattr(block, "text", "") for block in result.content)
        assert result.is_error, f"{name} did not fail: {text}"
        return text
