"""The pusher delivers bytes messages as base64 with a marker, and their types
(issue 20 point 7)."""

import base64

import pytest

from core import streams
from core.streams.subscriptions import add_subscription
from tests.streams.test_subscriptions import endpoint, pushing, subscription
from tests.workers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["endpoint"]  # the fixture, used by name


def test_a_bytes_message_is_pushed_in_base64_with_a_marker_and_committed(endpoint):
    streams.create_topic("files")
    streams.publish("files", b"\x00\x01\xfe\xff", key="a", type="blob")
    streams.publish("files", {"n": 1}, type="note")
    server = endpoint()
    add_subscription("files-hook", "files", "g", server.url)
    with pushing():
        wait_for(lambda: streams.committed("g", "files", 0) == 2)
    sent = [m for r in server.requests for m in r["body"]["messages"]]
    assert [(m["offset"], m["type"], m.get("encoding")) for m in sent] == [
        (1, "blob", "base64"),
        (2, "note", None),
    ]
    assert base64.b64decode(sent[0]["data"]) == b"\x00\x01\xfe\xff"
    assert sent[1]["data"] == {"n": 1}
    assert subscription("files-hook").last_error == ""
