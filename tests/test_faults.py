"""core.faults: outages told from bugs, one line per failure, back-off."""

import logging

import pytest
from django.db import IntegrityError, InterfaceError, OperationalError

from core import faults


@pytest.mark.parametrize("error", [OperationalError("gone"), InterfaceError("closed")])
def test_connection_errors_are_outages(error):
    assert faults.is_outage(error)


@pytest.mark.parametrize("error", [IntegrityError("duplicate"), ValueError("bug")])
def test_other_errors_are_not_outages(error):
    assert not faults.is_outage(error)


def _raise(error):
    try:
        raise error
    except Exception as exc:
        return exc


def test_a_failure_is_one_line_with_the_class_and_the_first_line_of_the_message(caplog):
    logger = logging.getLogger("queueadmin.test.one_line")
    error = _raise(OperationalError("server closed the connection\nmore detail"))
    with caplog.at_level(logging.ERROR, logger=logger.name):
        faults.log_failure(logger, "claiming jobs failed", error)
    [record] = caplog.records
    assert record.getMessage() == (
        "claiming jobs failed: OperationalError: server closed the connection"
    )


def test_the_traceback_comes_once_per_distinct_error(caplog):
    logger = logging.getLogger("queueadmin.test.once")
    with caplog.at_level(logging.ERROR, logger=logger.name):
        for _ in range(3):
            faults.log_failure(logger, "heartbeat failed", _raise(OperationalError("refused 1")))
        faults.log_failure(logger, "heartbeat failed", _raise(OperationalError("refused 2")))
    assert [r.exc_info is not None for r in caplog.records] == [True, False, False, True]


def test_at_debug_every_failure_has_its_traceback(caplog):
    logger = logging.getLogger("queueadmin.test.debug")
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        for _ in range(2):
            faults.log_failure(logger, "writing failed", _raise(OperationalError("down")))
    assert [r.exc_info is not None for r in caplog.records] == [True, True]


def test_backoff_doubles_up_to_its_cap_and_resets():
    backoff = faults.Backoff(first=0.5, most=3.0)
    assert [backoff.step() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.step() == 0.5
