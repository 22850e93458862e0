"""Driver conformance for searching inside jobs: ``contains_filter`` and
``last_error_filter`` give the same answers on SQLite and PostgreSQL (run this file
on both). The expected answers are PostgreSQL's ``@>``; on PostgreSQL a test also
checks them against the operator itself."""

import json

import pytest
from django.db import connection

from core import queue
from core.drivers import get_driver
from core.jobs.filters import filter_jobs
from core.models import Job

pytestmark = pytest.mark.django_db

#: (stored JSON, filter, whether the stored value contains the filter)
CASES = [
    ({"customer": 42}, {"customer": 42}, True),
    ({"customer": 42, "plan": "pro"}, {"customer": 42}, True),
    ({"customer": 42}, {"customer": 43}, False),
    ({"customer": 42}, {}, True),
    ({"customer": 42.0}, {"customer": 42}, True),
    ({"customer": 42}, {"customer": 42.0}, True),
    ({"customer": "42"}, {"customer": 42}, False),
    ({"customer": 42}, {"customer": "42"}, False),
    ({"flag": True}, {"flag": 1}, False),
    ({"flag": 1}, {"flag": True}, False),
    ({"flag": True}, {"flag": True}, True),
    ({"flag": False}, {"flag": 0}, False),
    ({"flag": "true"}, {"flag": True}, False),
    ({"gone": None}, {"gone": None}, True),
    ({"other": 1}, {"gone": None}, False),
    ({"gone": 0}, {"gone": None}, False),
    ({"gone": ""}, {"gone": None}, False),
    ({"price": 0.1}, {"price": 0.1}, True),
    ({"n": -7}, {"n": -7}, True),
    ({"big": 2**62}, {"big": 2**62}, True),
    ({"n": 1e15}, {"n": 10**15}, True),
    ({"n": 10**15}, {"n": 1e15}, True),
    ({"n": 1e16}, {"n": 10**16}, True),
    ({"n": 10**16}, {"n": 1e16}, True),
    ({"n": 1e-07}, {"n": 1e-07}, True),
    ({"n": -2.5}, {"n": -2.5}, True),
    ({"n": 2.5}, {"n": -2.5}, False),
    ({"s": 'a/b\\c"d\n'}, {"s": 'a/b\\c"d\n'}, True),
    ({"s": "tab\there"}, {"s": "tab\there"}, True),
    ({"big": 2**62}, {"big": 2**62 + 1}, False),
    ({"customer": {"id": 7, "name": "Ann"}}, {"customer": {"id": 7}}, True),
    ({"customer": {"id": 7}}, {"customer": {"id": 7, "name": "Ann"}}, False),
    ({"customer": {"id": 7}}, {"customer": 7}, False),
    ({"customer": {"id": 7}}, {"customer": {}}, True),
    ({"customer": 7}, {"customer": {}}, False),
    ({"items": [1, 2, 3]}, {"items": [3, 1]}, True),
    ({"items": [1, 2, 3]}, {"items": [4]}, False),
    ({"items": [1, 2]}, {"items": [1, 1, 1]}, True),
    ({"items": [1, 2]}, {"items": []}, True),
    ({"items": {}}, {"items": []}, False),
    ({"items": [1, 2]}, {"items": 1}, False),
    ({"items": [[1, 2]]}, {"items": [[2]]}, True),
    ({"items": [[1]]}, {"items": [1]}, False),
    ({"items": [{"sku": "a", "n": 1}, {"sku": "b"}]}, {"items": [{"sku": "a"}]}, True),
    ({"items": [{"sku": "a"}, {"n": 1}]}, {"items": [{"sku": "a", "n": 1}]}, False),
    ({"items": [{"sku": "a"}]}, {"items": {"sku": "a"}}, False),
    ({"a.b": 1}, {"a.b": 1}, True),
    ({"a": {"b": 1}}, {"a.b": 1}, False),
    ({"name": "Zoë \"quoted\" 'x'"}, {"name": "Zoë \"quoted\" 'x'"}, True),
    ({"name": "zoë"}, {"name": "Zoë"}, False),
    ({"name": "a"}, {"name": "a "}, False),
    ({"zoë": {"ключ": 1}}, {"zoë": {"ключ": 1}}, True),
    ({"zoë": 1}, {"zoe": 1}, False),
    ({'say "hi"': 1, "back\\slash": 2}, {'say "hi"': 1, "back\\slash": 2}, True),
    ({"": {"$": 1}}, {"": {"$": 1}}, True),
    ({"x[0]": 1, "a": [5]}, {"x[0]": 1}, True),
    ({"a": [5]}, {"a[0]": 5}, False),
    ({"a": {"b": [{"c": [1, {"d": True}]}]}}, {"a": {"b": [{"c": [{"d": True}]}]}}, True),
    ({"a": {"b": [{"c": [1, {"d": 1}]}]}}, {"a": {"b": [{"c": [{"d": True}]}]}}, False),
    ([{"customer": 42}], {"customer": 42}, False),
    ("customer", {"customer": 42}, False),
    (None, {}, False),
]


def _store(value):
    job = queue.enqueue("t")
    Job.objects.filter(pk=job.pk).update(payload=value)
    return job


@pytest.mark.parametrize(("stored", "wanted", "expected"), CASES)
def test_contains_filter_matches_like_postgres_containment(stored, wanted, expected):
    job = _store(stored)
    _store("unrelated")  # a string: no object filter matches it
    found = Job.objects.filter(get_driver().contains_filter("payload", wanted))
    assert list(found.values_list("pk", flat=True)) == ([job.pk] if expected else [])


@pytest.mark.parametrize(("stored", "wanted", "expected"), CASES)
def test_contains_filter_cases_agree_with_the_jsonb_operator(
    postgres_only, stored, wanted, expected
):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb @> %s::jsonb", [json.dumps(stored), json.dumps(wanted)])
        assert bool(cursor.fetchone()[0]) is expected


def test_contains_filter_on_an_array_column_matches_an_element():
    job = queue.enqueue("t")
    Job.objects.filter(pk=job.pk).update(
        errors=[{"type": "ValueError", "message": "x"}, {"type": "TimeoutError"}]
    )
    queue.enqueue("t")
    driver = get_driver()
    assert list(
        Job.objects.filter(driver.contains_filter("errors", [{"type": "TimeoutError"}]))
    ) == [job]
    assert not Job.objects.filter(driver.contains_filter("errors", [{"type": "KeyError"}]))


def test_contains_filter_refuses_an_unknown_column():
    with pytest.raises(ValueError, match="column must be one of"):
        get_driver().contains_filter("job_type", {})


def test_contains_filter_refuses_a_scalar():
    with pytest.raises(ValueError, match="object or an array"):
        get_driver().contains_filter("payload", 42)


def _failed_with(*messages):
    job = queue.enqueue("t")
    Job.objects.filter(pk=job.pk).update(errors=[{"message": m} for m in messages])
    return job


def test_last_error_filter_finds_text_in_the_latest_message_only():
    latest = _failed_with("first try", "Connection refused by db:5432")
    _failed_with("connection refused", "then a KeyError")
    queue.enqueue("t")
    found = Job.objects.filter(get_driver().last_error_filter("connection REFUSED"))
    assert list(found) == [latest]


def test_last_error_filter_takes_percent_and_underscore_literally():
    literal = _failed_with("disk 100% full")
    _failed_with("disk 1000 full")
    assert list(Job.objects.filter(get_driver().last_error_filter("0% f"))) == [literal]
    assert not Job.objects.filter(get_driver().last_error_filter("disk_1"))


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"payload": {"customer": 42}}, "job_payload_gin"),
        ({"payload_has": {"customer.id": 42}}, "job_payload_gin"),
        ({"tags": ["tenant:7"]}, "job_tagged_gin"),
        ({"tags": ["tenant:7", "tenant:8"], "tag_mode": "any"}, "job_tagged_gin"),
        ({"tags": ["tenant:7"], "tag_mode": "exact"}, "job_tagged_gin"),
    ],
)
def test_postgres_payload_and_tag_filters_can_use_their_gin_index(postgres_only, filters, index):
    assert f"Bitmap Index Scan on {index}" in _plan(filter_jobs(**filters))


def test_postgres_tag_index_leaves_untagged_jobs_out(postgres_only):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'job_tagged_gin'")
        (definition,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'job_tags_gin'")
        (old,) = cursor.fetchone()
    assert definition.endswith("WHERE (tags <> '[]'::jsonb)")
    assert old == 0
