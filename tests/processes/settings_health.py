"""The repository's settings with short leases and a short STUCK_SECONDS, so the health
process tests see heartbeats, stuck threads and orders within seconds."""

from queueadmin.settings import *  # noqa: F403
from queueadmin.settings import QUEUEADMIN

QUEUEADMIN = {**QUEUEADMIN, "LEASE_SECONDS": 1.5, "STUCK_SECONDS": 1.0}
