"""Cron schedules: list_crons(status=…), and job templates given duration strings."""

import pytest

from core import queue
from core.exceptions import InvalidScheduleError
from core.scheduling import cron
from tests.records import schedule

pytestmark = pytest.mark.django_db


def test_list_crons_filters_by_status():
    schedule("a")
    schedule("b")
    schedule("c")
    cron.pause_cron("b")
    assert [s.name for s in queue.list_crons()] == ["a", "b", "c"]
    assert [s.name for s in queue.list_crons(status="active")] == ["a", "c"]
    assert [s.name for s in queue.list_crons(status="paused")] == ["b"]


def test_list_crons_refuses_an_unknown_status_naming_it():
    with pytest.raises(InvalidScheduleError, match=r"^status: must be one of active, paused"):
        queue.list_crons(status="stopped")


def test_a_template_stores_duration_strings_as_seconds():
    s = schedule("nightly", timeout="15m", retry_delay="30s", queue="reports")
    assert s.options == {"timeout": 900.0, "retry_delay": 30.0, "queue": "reports"}
    job = cron.run_cron_now("nightly")
    assert (job.timeout, job.retry_delay) == (900, 30)


def test_edit_cron_reads_a_duration_string():
    schedule("nightly", timeout=60)
    assert cron.edit_cron("nightly", timeout="2h").options["timeout"] == 7200.0


def test_a_bad_template_duration_is_refused_naming_the_field():
    with pytest.raises(InvalidScheduleError, match=r'^timeout: "2 hrs ago" is not a duration'):
        schedule("nightly", timeout="2 hrs ago")
