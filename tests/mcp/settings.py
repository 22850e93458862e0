"""The repository's settings with REDACT on, for the MCP server subprocesses: their tools
must show the redacted keys as •••."""

from queueadmin.settings import *  # noqa: F403
from queueadmin.settings import QUEUEADMIN

QUEUEADMIN = {**QUEUEADMIN, "REDACT": ["password"]}
