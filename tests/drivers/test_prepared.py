"""The PostgreSQL driver's hot statements are prepared once per connection (planned
once, not at every enqueue, claim and outcome), unless PREPARED_STATEMENTS is False."""

from django.db import connection

from core import queue
from core.drivers import get_driver


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_enqueue_and_claim_statements_are_prepared(postgres_only):
    queue.enqueue("x")
    get_driver().claim("w1", ["default"], None, 10, 30.0)
    statements = prepared_statements()
    assert any("INSERT INTO" in s and "queueadmin_job" in s for s in statements)
    assert any("SKIP LOCKED" in s for s in statements)


def test_prepared_statements_false_prepares_nothing(postgres_only, settings):
    settings.QUEUEADMIN = {"PREPARED_STATEMENTS": False}
    before = set(prepared_statements())  # what earlier tests left on this connection
    queue.enqueue("x", queue="unprepared")  # (a statement text of its own)
    get_driver().claim("w1", ["unprepared", "other"], None, 10, 30.0)
    assert set(prepared_statements()) == before
