"""The Streams message browser: a Type column and filter, bytes messages shown as their
size and hex (issue 20 point 7)."""

import html as htmllib
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from core import streams
from tests.dashboard.conftest import html_reader
from tests.users import client_for, make_user

pytestmark = pytest.mark.django_db

html_of = html_reader("/streams/")


@pytest.fixture
def viewer():
    return client_for(make_user("viewer", "view_topic", "view_message"))


@pytest.fixture
def typed():
    """log: offsets 1-6 alternate order.placed and order.paid; 7 has no type."""
    streams.publish_many(
        "log",
        [{"data": {"n": n}, "type": ("order.placed", "order.paid")[n % 2]} for n in range(6)]
        + [{"data": {"n": 6}}],
    )
    return "log"


def messages_url(**params) -> str:
    return "/streams/messages/?" + urlencode(params)


def rows_of(html) -> list[int]:
    return [int(o) for o in re.findall(r'<tr class="message-row" data-offset="(\d+)">', html)]


def types_of(html) -> list[str]:
    cells = re.findall(r'<td class="message-type">(.*?)</td>', html)
    return [re.sub(r"<[^>]+>", "", cell) for cell in cells]


def test_messages_show_their_type_in_a_column(viewer, typed):
    html = html_of(viewer, messages_url(topic=typed, partition=0))
    assert "<th>Type</th>" in html
    assert types_of(html) == ["order.placed", "order.paid"] * 3 + ["none"]


def test_the_type_filter_shows_only_that_type_and_keeps_it_in_the_form(viewer, typed):
    html = html_of(viewer, messages_url(topic=typed, partition=0, type="order.paid"))
    assert rows_of(html) == [2, 4, 6]
    assert 'name="type" id="message-type" value="order.paid"' in html


def test_the_type_filter_pages_within_the_type_both_ways(viewer, typed, settings):
    settings.QUEUEADMIN = {"DASHBOARD_PAGE_SIZE": 2}
    html = html_of(viewer, messages_url(topic=typed, partition=0, type="order.placed"))
    assert rows_of(html) == [1, 3]
    nxt = htmllib.unescape(re.search(r'<a href="([^"]+)" rel="next">', html).group(1))
    assert parse_qs(urlsplit(nxt).query)["type"] == ["order.placed"]
    assert rows_of(html_of(viewer, nxt)) == [5]
    newest = messages_url(topic=typed, partition=0, type="order.placed", order="newest")
    assert rows_of(html_of(viewer, newest)) == [5, 3]


def test_an_unknown_type_shows_no_messages(viewer, typed):
    html = html_of(viewer, messages_url(topic=typed, partition=0, type="nothing"))
    assert rows_of(html) == []
    assert "No messages of type <code>nothing</code>" in html


def test_a_malformed_type_is_explained_naming_the_field(viewer, typed):
    html = html_of(viewer, messages_url(topic=typed, partition=0, type="<b>x</b>"))
    assert rows_of(html) == []
    assert 'class="error type-error"' in html
    assert "Type: may hold only letters, digits" in html
    assert "<b>x</b>" not in html  # escaped


def test_a_bytes_message_shows_its_size_and_the_hex_of_its_first_32_bytes(viewer):
    streams.publish("blobs", bytes(range(40)), type="blob")
    streams.publish("blobs", b"\x00\xff")
    html = html_of(viewer, messages_url(topic="blobs", partition=0))
    assert '<span class="message-size">40 bytes</span>' in html
    assert " ".join(f"{n:02x}" for n in range(32)) in html
    assert "1f 20" not in html  # byte 32 on is left out
    assert "8 more bytes not shown" in html
    assert (
        '<span class="message-size">2 bytes</span> <code class="message-hex">00 ff</code>' in html
    )
