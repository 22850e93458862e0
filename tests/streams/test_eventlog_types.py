"""manage.py stream: types, bytes events, --omit-reader on events, short options and
partitions of a new topic (issue 20 point 7)."""

import base64
import json
import subprocess
from io import BytesIO, StringIO

import pytest
from django.core.management import call_command

from core import streams
from core.models import Message, Topic
from core.streams import eventlog
from tests.streams.test_eventlog import environ, lines, manage, run
from tests.workers import ROOT


def help_of(*args: str) -> str:
    done = subprocess.run(
        manage(*args, "--help"), cwd=ROOT, env=environ(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def pushed_log():
    """alice: note, bob: alert, alice: alert, carol: note."""
    eventlog.push("events", 0, "alice", {"n": 1}, "note")
    eventlog.push("events", 0, "bob", {"n": 2}, "alert")
    eventlog.push("events", 0, "alice", {"n": 3}, "alert")
    eventlog.push("events", 0, "carol", {"n": 4}, "note")


@pytest.mark.django_db
def test_push_stores_the_type_and_events_print_it():
    run("push", "--type", "user.signed_up", "--reader", "alice", "--data", "{}")
    assert Message.objects.get().type == "user.signed_up"
    (line,) = lines(run("events"))
    assert line["type"] == "user.signed_up"


@pytest.mark.django_db
def test_events_omit_reader_leaves_out_that_readers_events():
    pushed_log()
    printed = lines(run("events", "--omit-reader", "alice"))
    assert [(e["offset"], e["reader"]) for e in printed] == [(2, "bob"), (4, "carol")]
    printed = lines(run("events", "-o", "alice", "-o", "carol"))
    assert [e["reader"] for e in printed] == ["bob"]


@pytest.mark.django_db
def test_events_omit_reader_still_fills_the_limit_from_later_events():
    for n in range(5):
        eventlog.push("events", 0, "me", n, "note")
    eventlog.push("events", 0, "you", 5, "note")
    eventlog.push("events", 0, "you", 6, "note")
    printed = lines(run("events", "--omit-reader", "me", "--limit", "2"))
    assert [e["data"] for e in printed] == [5, 6]


@pytest.mark.django_db
def test_events_type_prints_only_events_of_those_types():
    pushed_log()
    assert [e["offset"] for e in lines(run("events", "--type", "alert"))] == [2, 3]
    assert [e["offset"] for e in lines(run("events", "-t", "alert", "-t", "note", "-l", "3"))] == [
        1,
        2,
        3,
    ]
    assert [e["offset"] for e in lines(run("events", "-t", "alert", "-o", "bob"))] == [3]


@pytest.mark.django_db
def test_watch_type_skips_other_types_but_moves_the_cursor_past_them():
    pushed_log()
    printed = lines(run("watch", "--reader", "dave", "--type", "note", "--once"))
    assert [e["offset"] for e in printed] == [1, 4]
    assert streams.committed("dave", "events", 0) == 4


@pytest.mark.django_db
def test_short_options_do_what_the_long_ones_do():
    streams.create_topic("orders", partitions=2)
    out = run("push", "-T", "orders", "-p", "1", "-r", "alice", "-t", "note", "-d", '{"a": 1}')
    assert lines(out) == [{"topic": "orders", "partition": 1, "offset": 1}]
    run("push", "-T", "orders", "-p", "1", "-w", "bob", "-t", "note", "-d", '{"b": 2}')
    printed = lines(run("events", "-T", "orders", "-p", "1", "-s", "1", "-l", "5"))
    assert [(e["offset"], e["reader"]) for e in printed] == [(2, "bob")]
    printed = lines(run("watch", "-T", "orders", "-p", "1", "-r", "carol", "-o", "bob", "--once"))
    assert [e["reader"] for e in printed] == ["alice"]
    assert lines(run("since", "-T", "orders", "-p", "1", "-r", "carol")) == [
        {"reader": "carol", "offset": 2, "end": 2}
    ]
    assert lines(run("cursor", "-T", "orders", "-p", "1", "-r", "carol", "--set", "0")) == [
        {"reader": "carol", "offset": 0, "end": 2}
    ]


@pytest.mark.django_db(transaction=True)
def test_help_documents_the_short_options_of_every_subcommand():
    shared = ["-T, --topic", "-p, --partition"]
    expected = {
        "push": [
            *shared,
            "-w, -r, --writer, --reader",
            "-t, --type",
            "-d, --data",
            "-f, --data-file",
        ],
        "watch": [*shared, "-r, --reader", "-o, --omit-reader", "-t, --type"],
        "events": [*shared, "-s, --since", "-l, --limit", "-o, --omit-reader", "-t, --type"],
        "since": [*shared, "-r, --reader"],
        "cursor": [*shared, "-r, --reader"],
    }
    for command, options in expected.items():
        text = help_of(command)
        for option in options:
            assert option in text, f"{command} --help lacks {option}"
    assert "-t type" in " ".join(help_of().split())


@pytest.mark.django_db
def test_push_data_file_publishes_the_files_bytes(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(b"\x89PNG\x00\xff")
    out = run("push", "-t", "image/png", "-r", "alice", "--data-file", str(path))
    assert lines(out) == [{"topic": "events", "partition": 0, "offset": 1}]
    (message,) = streams.read("events")
    assert message.data == b"\x89PNG\x00\xff"
    assert message.type == "image/png"


@pytest.mark.django_db
def test_push_data_file_dash_reads_bytes_from_stdin():
    class Stdin(StringIO):
        buffer = BytesIO(b"\x00raw\xff")

    call_command(
        "stream", "push", "-t", "raw", "-r", "a", "-f", "-", stdin=Stdin(), stdout=StringIO()
    )
    assert streams.read("events")[0].data == b"\x00raw\xff"


@pytest.mark.django_db
def test_events_and_watch_print_bytes_in_base64_with_a_marker():
    eventlog.push("events", 0, "alice", b"\x00\x01\xfe", "blob")
    eventlog.push("events", 0, "alice", {"n": 1}, "note")
    for printed in (lines(run("events")), lines(run("watch", "-r", "bob", "--once"))):
        assert printed[0]["encoding"] == "base64"
        assert base64.b64decode(printed[0]["data"]) == b"\x00\x01\xfe"
        assert "encoding" not in printed[1]
        assert printed[1]["data"] == {"n": 1}


@pytest.mark.django_db
def test_push_to_partition_n_of_a_new_topic_creates_n_plus_one_partitions():
    out = run("push", "-T", "fresh", "-p", "2", "-r", "a", "-t", "note", "-d", "1")
    assert lines(out) == [{"topic": "fresh", "partition": 2, "offset": 1}]
    assert Topic.objects.get(name="fresh").partitions == 3


@pytest.mark.django_db(transaction=True)
def test_a_push_process_takes_binary_stdin_with_data_file_dash():
    raw = bytes(range(256))
    done = subprocess.run(
        manage("push", "-t", "blob", "-r", "alice", "-f", "-"),
        cwd=ROOT,
        env=environ(),
        input=raw,
        capture_output=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, b"")
    assert json.loads(done.stdout) == {"topic": "events", "partition": 0, "offset": 1}
    assert streams.read("events")[0].data == raw
