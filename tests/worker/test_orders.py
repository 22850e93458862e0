"""core.worker.orders: operators' quiet, stop and resume orders written on worker rows."""

import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.exceptions import InvalidWorkerOrderError
from core.models import Worker
from core.worker.orders import order_workers
from tests.dashboard.conftest import add_worker

pytestmark = pytest.mark.django_db


def row(name: str) -> Worker:
    return Worker.objects.get(id=name)


def test_quiet_order_is_stored_with_the_user_and_time():
    add_worker("w1")
    assert order_workers("quiet", ["w1"], "alice") == 1
    worker = row("w1")
    assert (worker.order, worker.ordered_by) == ("quiet", "alice")
    assert worker.ordered_at is not None


def test_stop_order_is_stored():
    add_worker("w1")
    assert order_workers("stop", ["w1"], "alice") == 1
    assert row("w1").order == "stop"


def test_only_the_named_workers_take_the_order():
    add_worker("w1")
    add_worker("w2")
    order_workers("stop", ["w1"], "alice")
    assert row("w2").order == ""


def test_no_ids_means_every_live_worker():
    add_worker("w1")
    add_worker("w2")
    assert order_workers("quiet", None, "alice") == 2
    assert set(Worker.objects.values_list("order", flat=True)) == {"quiet"}


def test_stale_workers_take_no_order():
    add_worker("gone", heartbeat_age=timedelta(hours=1))
    assert order_workers("stop", None, "alice") == 0
    assert order_workers("stop", ["gone"], "alice") == 0
    assert row("gone").order == ""


def test_unknown_order_is_refused_and_changes_nothing():
    add_worker("w1")
    with pytest.raises(InvalidWorkerOrderError, match="order: must be one of quiet, stop, resume"):
        order_workers("halt", ["w1"], "alice")
    assert (row("w1").order, row("w1").ordered_by) == ("", "")


def test_a_bare_string_of_worker_ids_is_refused():
    add_worker("w1")
    with pytest.raises(InvalidWorkerOrderError, match="worker_ids: must be a list"):
        order_workers("stop", "w1", "alice")
    assert row("w1").order == ""


def test_an_empty_user_is_refused():
    add_worker("w1")
    with pytest.raises(InvalidWorkerOrderError, match="user: must be a non-empty string"):
        order_workers("stop", ["w1"], "")
    assert row("w1").order == ""


def test_an_empty_list_orders_nobody():
    add_worker("w1")
    assert order_workers("stop", [], "alice") == 0
    assert row("w1").order == ""


def test_resume_clears_a_quiet_order_and_records_who():
    add_worker("w1", order="quiet", ordered_by="alice")
    assert order_workers("resume", ["w1"], "bob") == 1
    assert (row("w1").order, row("w1").ordered_by) == ("", "bob")


def test_resume_wakes_a_worker_that_reports_quiet():
    add_worker("w1", state="quiet")
    assert order_workers("resume", ["w1"], "bob") == 1


def test_resume_leaves_a_running_worker_alone():
    add_worker("w1")
    assert order_workers("resume", ["w1"], "bob") == 0
    assert row("w1").ordered_by == ""


def test_resume_does_not_take_back_a_stop():
    add_worker("w1", order="stop", ordered_by="alice")
    assert order_workers("resume", ["w1"], "bob") == 0
    assert (row("w1").order, row("w1").ordered_by) == ("stop", "alice")


def test_quiet_never_replaces_a_stop():
    add_worker("w1", order="stop", ordered_by="alice")
    add_worker("w2", state="stopping")
    assert order_workers("quiet", None, "bob") == 0
    assert row("w1").order == "stop"


def test_an_order_given_already_keeps_its_first_giver():
    add_worker("w1", order="quiet", ordered_by="alice")
    assert order_workers("quiet", ["w1"], "bob") == 0
    assert row("w1").ordered_by == "alice"


def test_stop_overrides_a_quiet_order():
    add_worker("w1", order="quiet", ordered_by="alice")
    assert order_workers("stop", ["w1"], "bob") == 1
    assert (row("w1").order, row("w1").ordered_by) == ("stop", "bob")


def test_each_ordered_worker_is_logged(caplog):
    add_worker("w1")
    add_worker("w2")
    with caplog.at_level(logging.INFO, logger="queueadmin.worker"):
        order_workers("stop", None, "alice")
    assert "Worker id=w1 order=stop by=alice" in caplog.messages
    assert "Worker id=w2 order=stop by=alice" in caplog.messages


def test_all_workers_are_ordered_in_one_update():
    for i in range(5):
        add_worker(f"w{i}")
    with CaptureQueriesContext(connection) as queries:
        assert order_workers("quiet", None, "alice") == 5
    updates = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 1
