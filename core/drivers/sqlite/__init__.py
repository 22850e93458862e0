"""The SQLite driver: ``driver`` (enqueue, finish, heartbeat, reclaim, streams, bulk
loads) and ``claim`` (the claim's SQL under BEGIN IMMEDIATE, UNION ALL per-channel
turns). Imports only ``core.drivers`` and the models.
"""

from core.drivers.sqlite.driver import SQLiteDriver

__all__ = ["SQLiteDriver"]
