"""manage.py stream: an event log on a stream topic, from the shell."""

import argparse
import json
import math
import os
import sys
import threading
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError
from django.db import Error as DatabaseError

from core import streams
from core.exceptions import InvalidStreamError, TopicNotFound
from core.streams import eventlog
from core.worker import signalling

#: Largest offset a database column holds.
MAX_OFFSET = 2**63 - 1


def name(text: str) -> str:
    """An argparse type: a topic or reader name."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must be a non-empty name")
    if len(text) > 200:
        raise argparse.ArgumentTypeError("must be at most 200 characters")
    if "\x00" in text:
        raise argparse.ArgumentTypeError("may not contain NUL characters")
    return text


def message_type(text: str) -> str:
    """An argparse type: a message type (letters, digits and ``._:-/``)."""
    try:
        return streams.check_type(text, "type")
    except InvalidStreamError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("type: ")) from None


def _integer(text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be {low} or more, got {value}")
    if value > high:
        raise argparse.ArgumentTypeError(f"must be at most {high}, got {value}")
    return value


def offset(text: str) -> int:
    """An argparse type: an offset (0 or more)."""
    return _integer(text, 0, MAX_OFFSET)


def limit(text: str) -> int:
    """An argparse type: how many events at most."""
    return _integer(text, 1, streams.MAX_FETCH)


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds, more than zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than zero seconds, got {text!r}")
    return value


def _json(value) -> str:
    return json.dumps(value)


@contextmanager
def stop_on_signals(stop: threading.Event):
    """Set ``stop`` on SIGINT or SIGTERM (in the main thread; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    restore = signalling.watch(lambda signum: stop.set())
    try:
        yield
    finally:
        restore()


class Command(BaseCommand):
    """Push events to a topic, watch them as a reader, list them, move cursors."""

    help = (
        "An event log on a stream topic. Events carry the name of the reader who pushed "
        "them and a type; each reader has a cursor (its committed offset) that watch "
        "advances. Short options, the same in every subcommand: -T topic, -p partition, "
        "-r reader, -t type, -d data, -f data file, -s since, -l limit, -o omit reader."
    )
    # call_command(..., stdin=StringIO(...)) feeds push without --data.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        actions = parser.add_subparsers(
            dest="action", metavar="{push,watch,events,since,cursor}", required=True
        )

        push = self._subcommand(actions, "push", "publish one event; print its offset")
        push.add_argument(
            "-w",
            "-r",
            "--writer",
            "--reader",
            dest="reader",
            type=name,
            required=True,
            help="who writes the event (the reader whose own events --omit-reader leaves out)",
        )
        push.add_argument(
            "-t", "--type", type=message_type, required=True, help="the event's type (required)"
        )
        data = push.add_mutually_exclusive_group()
        data.add_argument("-d", "--data", help="the event as JSON (default: read from stdin)")
        data.add_argument(
            "-f",
            "--data-file",
            metavar="PATH",
            help="publish this file's bytes as they are (a bytes event); - reads stdin",
        )

        watch = self._subcommand(
            actions, "watch", "print new events after the reader's cursor, moving it"
        )
        watch.add_argument(
            "-r", "--reader", type=name, required=True, help="whose cursor to follow"
        )
        self._filters(watch, "skip events this reader wrote, still moving past them")
        watch.add_argument(
            "--poll", type=seconds, default=1.0, help="seconds between polls (default 1)"
        )
        watch.add_argument(
            "--once", action="store_true", help="print the events there are now, then exit"
        )
        watch.add_argument(
            "--batch-size",
            type=limit,
            default=eventlog.DEFAULT_LIMIT,
            help="most events printed before the cursor is committed (default 100)",
        )

        events = self._subcommand(actions, "events", "print events after an offset")
        events.add_argument(
            "-s",
            "--since",
            type=offset,
            default=0,
            help="print events after this offset (default 0)",
        )
        events.add_argument(
            "-l",
            "--limit",
            type=limit,
            default=eventlog.DEFAULT_LIMIT,
            help="most events to print (default 100)",
        )
        self._filters(events, "leave out events this reader wrote")

        since = self._subcommand(actions, "since", "print a reader's cursor and the end offset")
        since.add_argument("-r", "--reader", type=name, required=True, help="whose cursor")

        cursor = self._subcommand(actions, "cursor", "set a reader's cursor")
        cursor.add_argument("-r", "--reader", type=name, required=True, help="whose cursor")
        cursor.add_argument(
            "--set", type=offset, required=True, dest="offset", metavar="N", help="0 to the end"
        )

    @staticmethod
    def _subcommand(actions, command: str, text: str):
        parser = actions.add_parser(command, help=text, description=text)
        parser.add_argument(
            "-T",
            "--topic",
            type=name,
            default=eventlog.DEFAULT_TOPIC,
            help=f"topic (default {eventlog.DEFAULT_TOPIC})",
        )
        parser.add_argument(
            "-p", "--partition", type=offset, default=0, help="partition (default 0)"
        )
        return parser

    @staticmethod
    def _filters(parser, omit_help: str) -> None:
        """--omit-reader and --type, the same for every subcommand that lists events."""
        parser.add_argument(
            "-o",
            "--omit-reader",
            type=name,
            action="append",
            default=[],
            metavar="READER",
            help=f"{omit_help} (repeatable)",
        )
        parser.add_argument(
            "-t",
            "--type",
            type=message_type,
            action="append",
            dest="types",
            metavar="TYPE",
            help="only events of this type (repeatable: any of them)",
        )

    def handle(self, *args, **opts):
        try:
            getattr(self, f"_{opts['action']}")(opts)
        except (InvalidStreamError, TopicNotFound) as exc:
            raise CommandError(str(exc)) from None
        except DatabaseError as exc:
            raise CommandError(f"database error: {exc}".strip()) from None
        except BrokenPipeError:
            # The reader of our output went away (say, `| head`): stop quietly.
            self._silence_stdout()

    def _line(self, value) -> None:
        self.stdout.write(_json(value))
        self.stdout.flush()

    def _push(self, opts) -> None:
        if opts["data"] is not None:
            data = eventlog.parse_data(opts["data"], "--data")
        elif opts["data_file"] is not None:
            data = self._read_bytes(opts["data_file"], opts.get("stdin"))
        else:
            data = eventlog.parse_data(self._read_stdin(opts.get("stdin")), "stdin")
        self._line(
            eventlog.push(opts["topic"], opts["partition"], opts["reader"], data, opts["type"])
        )

    def _read_bytes(self, path: str, source) -> bytes:
        """The bytes of ``--data-file`` (``-``: all of stdin)."""
        if path == "-":
            source = source or sys.stdin
            if source is None:
                raise CommandError("--data-file: no stdin to read the event from")
            raw = getattr(source, "buffer", source).read()
            return raw.encode() if isinstance(raw, str) else bytes(raw)
        try:
            with open(path, "rb") as file:
                return file.read()
        except OSError as exc:
            raise CommandError(
                f"--data-file: cannot read {path!r}: {exc.strerror or exc}"
            ) from None

    def _read_stdin(self, source) -> str:
        source = source or sys.stdin
        if source is None:
            raise CommandError("no --data and no stdin to read the event from")
        raw = getattr(source, "buffer", source).read()
        if isinstance(raw, str):
            return raw
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CommandError(f"invalid JSON in stdin: not UTF-8 ({exc})") from None

    def _watch(self, opts) -> None:
        stop = threading.Event()
        if opts["verbosity"] >= 2:
            position = eventlog.cursor(opts["topic"], opts["partition"], opts["reader"])
            self.stderr.write(
                f"watching {opts['topic']}[{opts['partition']}] as {opts['reader']} "
                f"after offset {position['offset']}"
            )
            self.stderr.flush()
        with stop_on_signals(stop):
            eventlog.watch(
                opts["topic"],
                opts["partition"],
                opts["reader"],
                self._line,
                omit=set(opts["omit_reader"]),
                types=opts["types"],
                poll=opts["poll"],
                once=opts["once"],
                batch_size=opts["batch_size"],
                stop=stop,
            )

    def _events(self, opts) -> None:
        for line in eventlog.events(
            opts["topic"],
            opts["partition"],
            opts["since"],
            opts["limit"],
            omit=set(opts["omit_reader"]),
            types=opts["types"],
        ):
            self._line(line)

    def _since(self, opts) -> None:
        self._line(eventlog.cursor(opts["topic"], opts["partition"], opts["reader"]))

    def _cursor(self, opts) -> None:
        self._line(
            eventlog.set_cursor(opts["topic"], opts["partition"], opts["reader"], opts["offset"])
        )

    def _silence_stdout(self) -> None:
        """Point stdout at /dev/null so the interpreter's last flush cannot fail too."""
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
