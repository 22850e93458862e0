"""The shapes drivers take: a bulk insert's kinds and rows (core.drivers.rows)."""

from core.drivers.rows import KIND_FIELDS, insert_kinds
from core.jobs.spec import clean_job


def _row(**options):
    return clean_job(options.pop("job_type", "x"), options.pop("payload", None), **options)


def test_insert_kinds_sends_each_set_of_shared_options_once():
    rows = [_row(queue="a", payload=n) if n % 2 else _row(queue="b", payload=n) for n in range(4)]
    kinds, values = insert_kinds(rows, str)
    assert [kind[KIND_FIELDS.index("queue")] for kind in kinds] == ["b", "a"]
    assert [value[0] for value in values] == [0, 1, 0, 1]
    assert [value[1] for value in values] == [0, 1, 2, 3]


def test_insert_kinds_keeps_payload_key_and_run_at_per_row():
    rows = [_row(payload={"n": 1}, idempotency_key="k1"), _row(payload=None)]
    kinds, values = insert_kinds(rows, lambda at: "now" if at is None else at)
    assert len(kinds) == 1
    assert values == [[0, {"n": 1}, "k1", "now"], [0, None, None, "now"]]


def test_insert_kinds_tells_jobs_apart_by_their_tags_and_dependencies():
    rows = [_row(tags=["a"]), _row(tags=["b"]), _row(tags=["a"]), _row(), _row(depends_on=[1])]
    kinds, values = insert_kinds(rows, str)
    assert [value[0] for value in values] == [0, 1, 0, 2, 3]
    assert [(kind[-2], kind[-1]) for kind in kinds] == [
        (["a"], []),
        (["b"], []),
        ([], []),
        ([], [1]),
    ]


def test_a_kind_lists_every_shared_field_in_order():
    (kind,), _ = insert_kinds([_row(queue="q", priority=3, tags=["t"])], str)
    assert len(kind) == len(KIND_FIELDS)
    assert dict(zip(KIND_FIELDS, kind, strict=True))["priority"] == 3
    assert dict(zip(KIND_FIELDS, kind, strict=True))["tags"] == ["t"]
