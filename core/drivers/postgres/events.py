"""Job notifications on PostgreSQL: NOTIFY on EVENTS_CHANNEL, and a connection that
LISTENs for them.

Each notification's payload is the JSON object {"id", "queue", "event", "status"}.
NOTIFY is transactional: the notifications are delivered when the transaction that
sent them commits, and dropped if it rolls back.
"""

import json

import psycopg

from core.drivers.rows import EVENTS_CHANNEL

#: One notification per row of the JSON array of [id, queue, event, status].
NOTIFY_JOBS = """
SELECT count(pg_notify(%(channel)s, json_build_object(
           'id', (e->>0)::bigint, 'queue', e->>1, 'event', e->>2, 'status', e->>3)::text))
  FROM jsonb_array_elements(%(rows)s::jsonb) AS e
"""

#: Connection parameters a dedicated LISTEN connection takes from Django's.
CONNINFO_KEYS = {"dbname", "user", "password", "host", "port", "sslmode", "application_name"}


def notify_params(rows) -> dict:
    """The parameters of NOTIFY_JOBS for ``rows`` of (id, queue, event, status)."""
    return {"channel": EVENTS_CHANNEL, "rows": json.dumps([list(row) for row in rows])}


def conninfo(connection) -> dict:
    """The psycopg.connect() keywords for a dedicated connection to Django's database."""
    params = connection.get_connection_params()
    return {k: v for k, v in params.items() if k in CONNINFO_KEYS}


def parse(payload: str) -> dict | None:
    """A notification's payload as a dict, or None when it is not one of ours."""
    try:
        event = json.loads(payload)
    except ValueError:
        return None
    return event if isinstance(event, dict) and "id" in event else None


class Listener:
    """A dedicated autocommit connection LISTENing on one channel: the workers' wake-ups
    (NOTIFY_CHANNEL, ``wait``) or the job notifications (EVENTS_CHANNEL, ``events``)."""

    def __init__(self, params: dict, channel: str) -> None:
        self._conn = psycopg.connect(autocommit=True, **params)
        self._conn.execute(f"LISTEN {channel}")

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for a notification; True if one came."""
        for _ in self._conn.notifies(timeout=timeout, stop_after=1):
            return True
        return False

    def events(self, timeout: float | None) -> list[dict]:
        """Block up to ``timeout`` seconds (None: forever) for notifications; returns the
        first and every other one already received, parsed (empty on timeout)."""
        out = []
        for notify in self._conn.notifies(timeout=timeout, stop_after=1):
            if (event := parse(notify.payload)) is not None:
                out.append(event)
        # Whatever else arrived with the first: read without waiting.
        for notify in self._conn.notifies(timeout=0):
            if (event := parse(notify.payload)) is not None:
                out.append(event)
        return out

    def close(self) -> None:
        self._conn.close()
