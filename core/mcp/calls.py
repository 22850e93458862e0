"""How a tool runs: its synchronous ORM code on Django's one thread for synchronous code
(one database connection for the whole server), and every anticipated failure as a
ToolError whose message the assistant reads. Anything else is a crash the SDK logs and
answers with a generic tool error: the server keeps serving."""

import functools
import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent

from core.api.responses import ApiError
from core.exceptions import QueueError
from core.mcp.access import Refused

#: Failures whose message is meant for the caller.
EXPECTED = (QueueError, Refused)


def plain(data: Any) -> Any:
    """``data`` as plain JSON values (datetimes as ISO 8601 strings, as the JSON API)."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _run(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    close_old_connections()  # a connection the database dropped, or past CONN_MAX_AGE
    try:
        return plain(fn(**kwargs))
    except EXPECTED as exc:
        raise ToolError(str(exc)) from None
    except ApiError as exc:
        raise ToolError(exc.message) from None
    except ValidationError as exc:
        raise ToolError("; ".join(exc.messages)) from None
    finally:
        close_old_connections()


def tool(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` (synchronous, keyword arguments) as the coroutine the SDK calls; its
    signature and docstring stay the tool's schema and description."""

    @functools.wraps(fn)
    async def call(**kwargs: Any) -> Any:
        return await sync_to_async(_run, thread_sensitive=True)(fn, kwargs)

    return call


class UnknownArguments:
    """Server middleware: a tools/call naming an argument the tool does not take is a tool
    error naming it (the SDK would drop it silently, and a misspelt filter would list every
    job)."""

    def __init__(self, tools: dict[str, Callable[..., Any]]) -> None:
        self.names = {name: list(inspect.signature(fn).parameters) for name, fn in tools.items()}

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        params = ctx.params if ctx.method == "tools/call" else None
        if isinstance(params, dict) and params.get("name") in self.names:
            given = params.get("arguments")
            known = self.names[params["name"]]
            unknown = sorted(set(given) - set(known)) if isinstance(given, dict) else []
            if unknown:
                message = (
                    f"{params['name']} takes no argument {', '.join(map(repr, unknown))}; "
                    f"its arguments: {', '.join(known) or 'none'}"
                )
                return CallToolResult(
                    content=[TextContent(type="text", text=message)], is_error=True
                )
        return await call_next(ctx)
