"""The PostgreSQL driver: ``driver`` (enqueue, finish, heartbeat, reclaim, streams,
LISTEN/NOTIFY, dashboard estimates, bulk loads) and ``claim`` (the claim's SQL:
SKIP LOCKED, LATERAL per-channel turns). Imports only ``core.drivers`` and the models.
"""

from core.drivers.postgres.driver import PostgresDriver

__all__ = ["PostgresDriver"]
