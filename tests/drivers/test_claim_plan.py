"""PostgreSQL's claim finds the jobs it updates by their ids, whatever the table holds:
its plan (a generic one, as the worker's prepared statement gets) never reads the whole
job table."""

import re

import pytest
from django.db import connection, transaction
from psycopg import sql

from core.drivers import get_driver
from core.queue import enqueue_many

pytestmark = pytest.mark.django_db(transaction=True)


def generic_plan(statement: str, params: dict) -> str:
    """EXPLAIN ANALYZE of ``statement`` as a prepared statement's generic plan."""
    names: list[str] = []

    def placeholder(match: re.Match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    text = re.sub(r"%\((\w+)\)s", placeholder, statement)
    raw = connection.connection
    values = ", ".join(sql.Literal(params[name]).as_string(raw) for name in names)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("PREPARE claim_plan AS " + text)
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF) EXECUTE claim_plan({values})")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("DEALLOCATE claim_plan")
        transaction.set_rollback(True)
    return plan


def test_the_claim_reads_its_jobs_by_id_not_the_whole_table(postgres_only, monkeypatch):
    enqueue_many([{"job_type": "t"} for _ in range(3000)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE queueadmin_job")
    driver = get_driver()
    statements = []
    execute = type(driver).execute

    def capture(self, statement, params, **options):
        statements.append((statement, dict(params)))
        return execute(self, statement, params, **options)

    monkeypatch.setattr(type(driver), "execute", capture)
    assert len(driver.claim("w1", ["default"], None, 1000, 30.0)) == 1000
    ((statement, params),) = [s for s in statements if "SKIP LOCKED" in s[0]]
    plan = generic_plan(statement, params)
    assert "Index Scan using queueadmin_job_pkey on queueadmin_job j" in plan
    assert not re.search(r"Seq Scan on queueadmin_job\b", plan)
