"""The repository's settings with short leases and frequent maintenance, so the fault tests
see reclaims and lock take-overs within seconds."""

from queueadmin.settings import *  # noqa: F403
from queueadmin.settings import QUEUEADMIN

QUEUEADMIN = {**QUEUEADMIN, "LEASE_SECONDS": 1.5, "MAINTENANCE_INTERVAL": 0.2}
