"""runworker's time options read durations ("500ms", "1m") as well as seconds."""

import pytest
from django.core.management import CommandError

from core.management.commands.runworker import Command


def _parse(*args: str):
    return Command().create_parser("manage.py", "runworker").parse_args(list(args))


def test_time_options_read_durations_and_plain_seconds():
    opts = _parse(
        "--lease", "1m", "--poll-interval", "500ms", "--grace", "90", "--restart-window", "2m"
    )
    assert (opts.lease, opts.poll_interval, opts.grace, opts.restart_window) == (60, 0.5, 90, 120)


@pytest.mark.parametrize(
    ("option", "value"), [("--lease", "0s"), ("--lease", "soon"), ("--poll-interval", "-1")]
)
def test_a_bad_time_option_is_refused_naming_it(option, value):
    with pytest.raises(CommandError, match=f"argument {option}: "):
        _parse(option, value)
