"""manage.py queueadmin_mcp: the Model Context Protocol server, over stdio."""

import os

from django.core.management.base import BaseCommand, CommandError

#: Where the API key is read from when --api-key is not given (not in the process list).
KEY_VARIABLE = "QUEUEADMIN_API_KEY"


class Command(BaseCommand):
    """Serve the README and the queue to an assistant over stdio (see README "MCP server")."""

    help = (
        "Run a Model Context Protocol server over stdin/stdout for an AI assistant: the "
        "README's sections as resources, read-only tools over jobs, queues, workers, cron "
        "schedules, wait tokens and stream lag; with --allow-writes and a read-write API key "
        f"({KEY_VARIABLE}), retry, cancel, run now, complete a token, pause/resume a queue."
    )

    #: stdout carries the protocol: no check may print to it.
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-writes",
            action="store_true",
            help="enable the write tools (they still need a read-write API key)",
        )
        parser.add_argument(
            "--api-key",
            metavar="KEY",
            help=f"an API key (default: ${KEY_VARIABLE}; prefer the variable: arguments are "
            "visible in process lists)",
        )

    def handle(self, *args, **opts):
        try:
            from core.mcp.access import Access
            from core.mcp.server import build
        except ImportError as exc:
            raise CommandError(
                f"the MCP server needs the mcp package ({exc}): pip install 'queueadmin[mcp]'"
            ) from None
        secret = opts["api_key"] or os.environ.get(KEY_VARIABLE) or None
        secret = secret.strip() if secret else None
        access = Access(secret=secret or None, allow_writes=opts["allow_writes"])
        if access.secret is not None:
            problem = access.key_problem()
            if problem:
                raise CommandError(f"{problem} (from {self._source(opts)})")
        elif access.allow_writes:
            raise CommandError(
                f"--allow-writes needs a read-write API key: set {KEY_VARIABLE} (or --api-key)"
            )
        build(access).run("stdio")

    @staticmethod
    def _source(opts) -> str:
        return "--api-key" if opts["api_key"] else KEY_VARIABLE
