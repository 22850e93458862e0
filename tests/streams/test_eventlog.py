"""manage.py stream: the event-log CLI, in process and as real processes."""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core import streams
from core.models import ConsumerOffset, Message, Topic
from core.streams import eventlog
from tests.workers import ROOT, database_url, wait_for


def run(*args: str, stdin: str | None = None) -> str:
    """call_command("stream", ...); return what it printed."""
    out = StringIO()
    options = {"stdout": out, "stderr": StringIO()}
    if stdin is not None:
        options["stdin"] = StringIO(stdin)
    call_command("stream", *args, **options)
    return out.getvalue()


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def manage(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), "stream", *args]


def environ() -> dict:
    return {**os.environ, "DATABASE_URL": database_url()}


def run_process(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """`manage.py stream ...` as a process against the test database."""
    return subprocess.run(
        manage(*args),
        cwd=ROOT,
        env=environ(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def state() -> tuple:
    """Everything the CLI could write: topics, messages and cursors."""
    return (
        list(Topic.objects.values_list("name", "partitions")),
        list(
            Message.objects.values_list(
                "topic", "partition", "offset", "key", "type", "data", "body"
            )
        ),
        list(ConsumerOffset.objects.values_list("group", "topic", "partition", "offset")),
    )


# --- in process ---------------------------------------------------------------


@pytest.mark.django_db
def test_push_prints_dense_offsets_and_keys_events_by_their_reader():
    printed = [
        lines(run("push", "--type", "note", "--reader", "alice", "--data", f'{{"n": {n}}}'))
        for n in (1, 2)
    ]
    printed.append(lines(run("push", "--type", "note", "--reader", "bob", "--data", "[1, 2]")))
    assert printed == [[{"topic": "events", "partition": 0, "offset": n}] for n in (1, 2, 3)]
    messages = streams.read("events")
    assert [(m.offset, m.key, m.data) for m in messages] == [
        (1, "alice", {"n": 1}),
        (2, "alice", {"n": 2}),
        (3, "bob", [1, 2]),
    ]


@pytest.mark.django_db
def test_push_reads_the_event_from_stdin_without_data():
    assert lines(
        run("push", "--type", "note", "--reader", "alice", stdin='{"from": "stdin"}\n')
    ) == [{"topic": "events", "partition": 0, "offset": 1}]
    assert streams.read("events")[0].data == {"from": "stdin"}


@pytest.mark.django_db
def test_push_to_another_topic_and_partition():
    streams.create_topic("orders", partitions=2)
    out = run(
        "push",
        "--type",
        "note",
        "--topic",
        "orders",
        "--partition",
        "1",
        "--reader",
        "a",
        "--data",
        "7",
    )
    assert lines(out) == [{"topic": "orders", "partition": 1, "offset": 1}]
    assert [(m.key, m.data) for m in streams.read("orders", 1)] == [("a", 7)]
    assert streams.read("orders", 0) == []


@pytest.mark.django_db
def test_events_since_prints_later_events_and_moves_no_cursor():
    for n in range(1, 5):
        run("push", "--type", "note", "--reader", "alice" if n % 2 else "bob", "--data", str(n))
    events = lines(run("events", "--since", "1"))
    assert [(e["offset"], e["reader"], e["data"]) for e in events] == [
        (2, "bob", 2),
        (3, "alice", 3),
        (4, "bob", 4),
    ]
    assert set(events[0]) == {"offset", "reader", "type", "data", "created"}
    assert events[0]["created"] == streams.read("events", after=1)[0].created_at.isoformat()
    assert [e["offset"] for e in lines(run("events", "--since", "1", "--limit", "2"))] == [2, 3]
    assert [e["offset"] for e in lines(run("events"))] == [1, 2, 3, 4]
    assert run("events", "--since", "4") == ""
    assert not ConsumerOffset.objects.exists()


@pytest.mark.django_db
def test_since_and_cursor_read_and_set_a_readers_cursor():
    for _ in range(3):
        run("push", "--type", "note", "--reader", "alice", "--data", "{}")
    assert lines(run("since", "--reader", "bob")) == [{"reader": "bob", "offset": 0, "end": 3}]
    assert lines(run("cursor", "--reader", "bob", "--set", "2")) == [
        {"reader": "bob", "offset": 2, "end": 3}
    ]
    assert lines(run("since", "--reader", "bob")) == [{"reader": "bob", "offset": 2, "end": 3}]
    assert streams.committed("bob", "events", 0) == 2
    # Back to the start and to the end are both allowed.
    assert lines(run("cursor", "--reader", "bob", "--set", "0"))[0]["offset"] == 0
    assert lines(run("cursor", "--reader", "bob", "--set", "3"))[0]["offset"] == 3


@pytest.mark.django_db
def test_watch_once_prints_new_events_and_advances_the_cursor():
    run("push", "--type", "note", "--reader", "alice", "--data", '{"n": 1}')
    run("push", "--type", "note", "--reader", "bob", "--data", '{"n": 2}')
    first = lines(run("watch", "--reader", "carol", "--once"))
    assert [(e["offset"], e["reader"], e["data"]) for e in first] == [
        (1, "alice", {"n": 1}),
        (2, "bob", {"n": 2}),
    ]
    assert streams.committed("carol", "events", 0) == 2
    assert run("watch", "--reader", "carol", "--once") == ""
    run("push", "--type", "note", "--reader", "alice", "--data", '{"n": 3}')
    assert [e["offset"] for e in lines(run("watch", "--reader", "carol", "--once"))] == [3]
    # Another reader has its own cursor.
    assert len(lines(run("watch", "--reader", "dave", "--once"))) == 3


@pytest.mark.django_db
def test_watch_with_omit_reader_skips_the_readers_own_events_but_moves_past_them():
    for reader in ("alice", "bob", "alice", "carol", "alice"):
        run("push", "--type", "note", "--reader", reader, "--data", json.dumps(reader))
    out = run("watch", "--reader", "alice", "--omit-reader", "alice", "--once")
    assert [(e["offset"], e["reader"]) for e in lines(out)] == [(2, "bob"), (4, "carol")]
    # The cursor is past the last event too, though alice wrote it and it was not printed.
    assert lines(run("since", "--reader", "alice")) == [{"reader": "alice", "offset": 5, "end": 5}]
    assert run("watch", "--reader", "alice", "--omit-reader", "alice", "--once") == ""
    # Several readers can be omitted.
    out = run("watch", "--reader", "x", "--omit-reader", "alice", "--omit-reader", "bob", "--once")
    assert [e["offset"] for e in lines(out)] == [4]


@pytest.mark.django_db
def test_watch_once_commits_batch_by_batch_until_the_end():
    for n in range(1, 8):
        run("push", "--type", "note", "--reader", "alice", "--data", str(n))
    out = run("watch", "--reader", "bob", "--once", "--batch-size", "2")
    assert [e["data"] for e in lines(out)] == list(range(1, 8))
    assert streams.committed("bob", "events", 0) == 7


@pytest.mark.django_db
def test_watch_moves_the_cursor_only_past_the_events_it_delivered():
    for n in range(1, 6):
        eventlog.push("events", 0, "alice", n)
    delivered = []

    def emit(line):
        if len(delivered) == 3:
            raise BrokenPipeError
        delivered.append(line["offset"])

    with pytest.raises(BrokenPipeError):
        eventlog.watch("events", 0, "bob", emit, once=True)
    assert delivered == [1, 2, 3]
    assert streams.committed("bob", "events", 0) == 3


@pytest.mark.django_db
def test_watch_polls_until_stopped():
    eventlog.push("events", 0, "alice", 1)
    stop = threading.Event()
    seen = []

    def emit(line):
        seen.append(line["offset"])
        if line["offset"] == 1:
            eventlog.push("events", 0, "alice", 2)  # arrives on a later poll
        else:
            stop.set()

    assert eventlog.watch("events", 0, "bob", emit, poll=0.01, stop=stop) == 2
    assert seen == [1, 2]
    assert streams.committed("bob", "events", 0) == 2


ERRORS = [
    # (arguments, stdin, message)
    (
        ["push", "--type", "note", "--reader", "a", "--data", '{"x": 1'],
        None,
        r"invalid JSON in --data: .*char 7",
    ),
    (
        ["push", "--type", "note", "--reader", "a", "--data", "{x}"],
        None,
        r"invalid JSON in --data: .*column 2",
    ),
    (
        ["push", "--type", "note", "--reader", "a", "--data", "NaN"],
        None,
        "invalid JSON in --data: NaN",
    ),
    (
        ["push", "--type", "note", "--reader", "a", "--data", ""],
        None,
        "invalid JSON in --data: empty input",
    ),
    (["push", "--type", "note", "--reader", "a"], "", "invalid JSON in stdin: empty input"),
    (["push", "--type", "note", "--reader", "a"], "[1,\n", r"invalid JSON in stdin: .*line 2"),
    (["push", "--type", "note", "--data", "1"], None, "--reader"),
    (
        ["push", "--type", "note", "--reader", "", "--data", "1"],
        None,
        "--reader: must be a non-empty name",
    ),
    (
        ["push", "--type", "note", "--reader", "  ", "--data", "1"],
        None,
        "--reader: must be a non-empty name",
    ),
    (
        ["push", "--type", "note", "--reader", "a", "--topic", "", "--data", "1"],
        None,
        "--topic: must be a non-empty",
    ),
    (
        ["push", "--type", "note", "--reader", "a", "--partition", "1", "--data", "1"],
        None,
        "partition",
    ),
    (["push", "--reader", "a", "--data", "1"], None, "required: -t/--type"),
    (["push", "--type", "", "--reader", "a", "--data", "1"], None, "--type: must be a non-empty"),
    (["push", "--type", "a b", "--reader", "a", "--data", "1"], None, r"--type: may hold only"),
    (
        ["push", "--type", "x" * 101, "--reader", "a", "--data", "1"],
        None,
        "--type: must be at most",
    ),
    (["push", "-t", "n", "-r", "a", "-d", "1", "-f", "x"], None, "not allowed with argument"),
    (["push", "-t", "n", "-r", "a", "-f", "/nonexistent/x"], None, "--data-file: cannot read"),
    (["events", "--type", "a b"], None, "--type: may hold only"),
    (["watch", "--reader", "a", "--type", "", "--once"], None, "--type: must be a non-empty"),
    (["since", "--reader", "a", "--topic", "nope"], None, "no topic named 'nope'"),
    (["events", "--topic", "nope"], None, "no topic named 'nope'"),
    (["watch", "--reader", "a", "--topic", "nope", "--once"], None, "no topic named 'nope'"),
    (["cursor", "--reader", "a", "--set", "0", "--topic", "nope"], None, "no topic named"),
    (["since", "--reader", "a", "--partition", "3"], None, "partition"),
    (["events", "--since", "-1"], None, "--since: must be 0 or more"),
    (["events", "--since", "x"], None, "--since: must be an integer"),
    (["events", "--since", "1.5"], None, "--since: must be an integer"),
    (["events", "--limit", "0"], None, "--limit: must be 1 or more"),
    (["cursor", "--reader", "bob", "--set", "3"], None, "3 is past the end"),
    (["cursor", "--reader", "bob", "--set", "-1"], None, "--set: must be 0 or more"),
    (["cursor", "--reader", "bob", "--set", "two"], None, "--set: must be an integer"),
    (["cursor", "--reader", "bob"], None, "--set"),
    (["cursor", "--set", "1"], None, "--reader"),
    (["since"], None, "--reader"),
    (["since", "--reader", ""], None, "--reader: must be a non-empty name"),
    (["watch", "--once"], None, "--reader"),
    (["watch", "--reader", "", "--once"], None, "--reader: must be a non-empty name"),
    (["watch", "--reader", "a", "--omit-reader", "", "--once"], None, "--omit-reader"),
    (["watch", "--reader", "a", "--poll", "0"], None, "--poll: must be more than zero"),
    (["watch", "--reader", "a", "--poll", "-1"], None, "--poll: must be more than zero"),
    (["watch", "--reader", "a", "--poll", "nan"], None, "--poll: must be more than zero"),
    (["watch", "--reader", "a", "--poll", "soon"], None, "--poll: must be a number"),
    ([], None, "required"),
    (["tail"], None, "invalid choice"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("args", "stdin", "message"), ERRORS, ids=[" ".join(e[0]) for e in ERRORS])
def test_errors_raise_a_command_error_and_write_nothing(args, stdin, message):
    eventlog.push("events", 0, "alice", 1)
    eventlog.push("events", 0, "alice", 2)
    eventlog.set_cursor("events", 0, "bob", 1)
    before = state()
    with pytest.raises(CommandError, match=message):
        run(*args, stdin=stdin)
    assert state() == before


# --- real processes -----------------------------------------------------------

PROCESS_ERRORS = [
    (["push", "--type", "note", "--reader", "a"], "{oops", 1, "invalid JSON in stdin"),
    (["events", "--topic", "nope"], "", 1, "no topic named 'nope'"),
    (["cursor", "--reader", "bob", "--set", "9"], "", 1, "9 is past the end"),
    (["events", "--since", "-1"], "", 2, "--since: must be 0 or more"),
    (["watch", "--once"], "", 2, "the following arguments are required: -r/--reader"),
    (["watch", "--reader", "a", "--poll", "0"], "", 2, "--poll: must be more than zero"),
]


@pytest.mark.django_db(transaction=True)
def test_processes_push_from_stdin_and_print_json():
    pushed = run_process("push", "--type", "note", "--reader", "alice", stdin='{"n": 1}')
    assert (pushed.returncode, pushed.stderr) == (0, "")
    assert json.loads(pushed.stdout) == {"topic": "events", "partition": 0, "offset": 1}
    watched = run_process("watch", "--reader", "bob", "--once")
    assert watched.returncode == 0
    assert [(e["offset"], e["reader"], e["data"]) for e in lines(watched.stdout)] == [
        (1, "alice", {"n": 1})
    ]
    assert streams.committed("bob", "events", 0) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    PROCESS_ERRORS,
    ids=[" ".join(e[0]) for e in PROCESS_ERRORS],
)
def test_process_errors_exit_non_zero_with_a_message_and_no_traceback(args, stdin, code, message):
    eventlog.push("events", 0, "alice", 1)
    before = state()
    done = run_process(*args, stdin=stdin)
    assert done.returncode == code
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert state() == before


def start_watch(*args: str, stderr) -> tuple[subprocess.Popen, queue.Queue]:
    """A `stream watch` process and a queue of the lines it prints."""
    proc = subprocess.Popen(
        manage("-v", "2", "watch", *args),  # -v 2: it says when it starts watching
        cwd=ROOT,
        env=environ(),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    printed: queue.Queue = queue.Queue()

    def pump():
        for line in proc.stdout:
            printed.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return proc, printed


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_watch_process_sees_events_pushed_after_it_started_and_exits_0_on_a_signal(tmp_path, sig):
    streams.create_topic("events")
    log = tmp_path / "stderr"
    with log.open("w") as stderr:
        proc, printed = start_watch(
            "--reader", "bob", "--omit-reader", "bob", "--poll", "0.05", stderr=stderr
        )
    try:
        wait_for(lambda: "watching events[0] as bob" in log.read_text(), message="the watch")
        eventlog.push("events", 0, "alice", {"n": 1})
        first = json.loads(printed.get(timeout=30))
        assert (first["offset"], first["reader"], first["data"]) == (1, "alice", {"n": 1})
        eventlog.push("events", 0, "bob", {"n": 2})  # its own: skipped
        eventlog.push("events", 0, "carol", {"n": 3})
        second = json.loads(printed.get(timeout=30))
        assert (second["offset"], second["reader"]) == (3, "carol")
        wait_for(lambda: streams.committed("bob", "events", 0) == 3, message="the commit")
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert printed.empty()
    assert "Traceback" not in log.read_text()


@pytest.mark.django_db(transaction=True)
def test_a_watch_piped_into_a_reader_that_quits_exits_quietly(tmp_path):
    streams.publish_many("events", [{"data": "x" * 200, "key": "alice"} for _ in range(3000)])
    log = tmp_path / "stderr"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            manage("watch", "--reader", "bob", "--once"),
            cwd=ROOT,
            env=environ(),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert json.loads(proc.stdout.readline())["offset"] == 1
        proc.stdout.close()  # like `| head -1`
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log.read_text()
    # Events it could not print come again.
    assert 0 < streams.committed("bob", "events", 0) < 3000
