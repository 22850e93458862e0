"""The example systemd units in deploy/ agree with the commands they run."""

import configparser
import shlex

import pytest
from django.core.management import load_command_class

from tests.workers import ROOT

UNITS = sorted((ROOT / "deploy").glob("*.service"))


def unit(path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(path)
    return parser


def test_there_is_a_unit_for_the_web_app_and_one_for_workers():
    assert [path.name for path in UNITS] == [
        "queueadmin-web.service",
        "queueadmin-worker@.service",
    ]


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_each_unit_has_the_sections_systemd_needs(path):
    parsed = unit(path)
    assert parsed.sections() == ["Unit", "Service", "Install"]
    assert parsed["Service"]["ExecStart"]
    assert parsed["Service"]["KillSignal"] == "SIGTERM"


def test_the_worker_units_options_are_runworkers_own():
    service = unit(ROOT / "deploy" / "queueadmin-worker@.service")["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[1:3] == ["manage.py", "runworker"]
    parser = load_command_class("core", "runworker").create_parser("manage.py", "runworker")
    options = parser.parse_args(argv[3:])  # exits (fails the test) on an unknown option
    assert options.queues == ["%i"]


def test_the_worker_unit_waits_longer_than_the_grace_before_killing():
    service = unit(ROOT / "deploy" / "queueadmin-worker@.service")["Service"]
    argv = shlex.split(service["ExecStart"])
    grace = float(argv[argv.index("--grace") + 1])
    assert float(service["TimeoutStopSec"]) > grace
