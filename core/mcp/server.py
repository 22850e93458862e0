"""The server: its resources (the README's sections) and tools, built for one Access."""

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.resources import TextResource
from mcp_types import ToolAnnotations

import core
from core.mcp import calls, readme
from core.mcp.access import Access
from core.mcp.reads import read_tools
from core.mcp.writes import write_tools

NAME = "queueadmin"
#: Resource URIs: the table of contents, and queueadmin://readme/<section slug>.
INDEX = "queueadmin://readme"
URI = INDEX + "/{slug}"

INSTRUCTIONS = (
    "queueadmin is a durable job queue for Django. Its README's sections are resources "
    "(queueadmin://readme/...): read them for how to enqueue jobs, write handlers and run "
    "workers. The tools read the live queue: find_jobs (the dashboard's filters), get_job, "
    "queue_overview, list_workers, list_cron_schedules, list_tokens, stream_lag. The write "
    "tools (retry_job, cancel_job, run_job_now, complete_token, pause_queue, resume_queue) "
    "work only when the operator started the server with --allow-writes and a read-write "
    "API key."
)

READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
#: Writes that end something: a cancelled job does not run (a retry brings it back).
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)


def add_readme(server: MCPServer, text: str | None) -> int:
    """Add one resource per README section and their table of contents; return how many
    sections."""
    found = readme.sections(text) if text else []
    lines = [f"{'  ' * (s.level - 2)}- {s.title}: {URI.format(slug=s.slug)}" for s in found]
    server.add_resource(
        TextResource(
            uri=INDEX,
            name="readme",
            title="queueadmin README: contents",
            description="The README's sections, each a resource of its own",
            mime_type="text/markdown",
            text="\n".join(["# queueadmin README", "", *lines]) + "\n"
            if found
            else "The README was not found: neither a checkout's README.md nor the installed "
            "distribution's metadata holds it.\n",
        )
    )
    for section in found:
        server.add_resource(
            TextResource(
                uri=URI.format(slug=section.slug),
                name=section.slug,
                title=section.title,
                description=f"README section “{section.title}”",
                mime_type="text/markdown",
                text=section.text,
            )
        )
    return len(found)


def build(access: Access, readme_text: str | None = None) -> MCPServer:
    """The server for ``access``: README resources, read tools, and the write tools (which
    refuse unless ``access`` allows writes)."""
    reads, writes = read_tools(access), write_tools(access)
    server = MCPServer(
        NAME,
        version=core.__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",
        middleware=[calls.UnknownArguments({fn.__name__: fn for fn in [*reads, *writes]})],
    )
    add_readme(server, readme.readme_text() if readme_text is None else readme_text)
    hints = {fn.__name__: READ for fn in reads}
    hints.update({fn.__name__: WRITE for fn in writes}, cancel_job=DESTRUCTIVE)
    for fn in [*reads, *writes]:
        server.add_tool(calls.tool(fn), annotations=hints[fn.__name__], structured_output=True)
    return server
