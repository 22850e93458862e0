"""Fixtures of the MCP server tests: the server subprocess runs against the test database,
so the tests commit what it must see (transaction=True)."""

import pytest

from tests.mcp.client import McpServer


@pytest.fixture(scope="module")
def start_server(django_db_setup, tmp_path_factory):
    """Start ``manage.py queueadmin_mcp *args`` for the module; stopped at its end."""
    started = []

    def start(*args: str, env: dict[str, str] | None = None) -> McpServer:
        log = tmp_path_factory.mktemp("mcp") / "server.log"
        server = McpServer(*args, log=log, env=env).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)
