"""The search box's term syntax (core.insights.search)."""

import pytest

from core.exceptions import InvalidJobError
from core.insights import search


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("payload.customer.id=42", {"payload_has": {"customer.id": 42}}),
        ('payload.customer.id="42"', {"payload_has": {"customer.id": "42"}}),
        ("payload.email=ann@example.com", {"payload_has": {"email": "ann@example.com"}}),
        ("payload.vip=true", {"payload_has": {"vip": True}}),
        ("payload.code=42abc", {"payload_has": {"code": "42abc"}}),
        ('payload.name="Ann Lee"', {"payload_has": {"name": "Ann Lee"}}),
        ('payload:{"customer": 42}', {"payload": [{"customer": 42}]}),
        (
            "output.ok=true errors.type=TimeoutError",
            {"output_has": {"ok": True}, "errors_has": {"type": "TimeoutError"}},
        ),
        ('errors:{"reason": "timeout"}', {"errors": [{"reason": "timeout"}]}),
        ("error:refused", {"error": "refused"}),
        ('error:"connection refused"', {"error": "connection refused"}),
        ("worker:host-1:77:ab", {"worker": "host-1:77:ab"}),
        ("worker:123", {"worker": "123"}),
        ("  payload.a=1   payload.b=2 ", {"payload_has": {"a": 1, "b": 2}}),
    ],
)
def test_parse_reads_search_terms(text, expected):
    assert search.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("payload.a=1 junk", "cannot read 'junk'"),
        ("payload.a=", "has no value"),
        ("worker:", "has no value"),
        ("payload.a=1 payload.a=2", "payload.a: give it once"),
        ("worker:a worker:b", "worker: give it once"),
    ],
)
def test_parse_names_the_term_it_cannot_read(text, message):
    with pytest.raises(InvalidJobError, match=message):
        search.parse(text)


@pytest.mark.parametrize(
    ("text", "structured"),
    [
        ("payload.a=1", True),
        ("payload:{}", True),
        ("worker:w", True),
        ("error:x", True),
        ("42", False),
        ("#42", False),
        ("order-2026-001", False),
        ("payloads.a=1", False),
    ],
)
def test_is_structured_tells_terms_from_an_id_or_key(text, structured):
    assert search.is_structured(text) is structured
