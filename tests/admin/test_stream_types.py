"""The admin's messages: a type column and filter, bytes shown as size and hex
(issue 20 point 7)."""

import re

import pytest

from core import streams
from core.models import Message

pytestmark = pytest.mark.django_db

MESSAGES = "/admin/queueadmin/message/"


@pytest.fixture
def typed():
    streams.publish_many(
        "log",
        [
            {"data": 1, "type": "order.placed"},
            {"data": 2, "type": "order.paid"},
            {"data": 3, "type": "order.placed"},
            {"data": 4},
        ],
    )


def offsets_listed(html: str) -> list[int]:
    return sorted(int(o) for o in re.findall(r'<td class="field-offset">(\d+)</td>', html))


def test_the_message_list_shows_a_type_column(staff_client, typed):
    html = staff_client.get(MESSAGES).content.decode()
    assert "column-type" in html
    assert '<td class="field-type">order.paid</td>' in html


def test_the_message_list_filters_by_type_and_offers_the_types(staff_client, typed):
    html = staff_client.get(MESSAGES).content.decode()
    assert "?type=order.paid" in html
    assert "?type=-" in html  # (none)
    html = staff_client.get(MESSAGES, {"type": "order.placed"}).content.decode()
    assert offsets_listed(html) == [1, 3]
    html = staff_client.get(MESSAGES, {"type": "-"}).content.decode()
    assert offsets_listed(html) == [4]


def test_a_bytes_message_shows_its_size_and_hex(staff_client):
    streams.publish("blobs", b"\x00\x01\xff", type="blob")
    message = Message.objects.get()
    html = staff_client.get(f"{MESSAGES}{message.pk}/change/").content.decode()
    assert "3 bytes: 00 01 ff" in html
    assert "blob" in html
