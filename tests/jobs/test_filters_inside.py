"""Searching inside jobs with find_jobs, cancel_jobs and edit_jobs: payload, output and
errors by containment and by key path, the latest error's text, and the worker filter
(on both databases)."""

import pytest

from core import queue
from core.exceptions import InvalidJobError
from core.models import Job, JobStatus

pytestmark = pytest.mark.django_db


def ids(jobs):
    return sorted(job.pk for job in jobs)


@pytest.fixture
def orders():
    """Jobs with known payloads, by name."""
    return {
        "ann": queue.enqueue("order", {"customer": {"id": 42, "name": "Ann"}, "items": [1, 2]}),
        "bob": queue.enqueue("order", {"customer": {"id": 7, "name": "Bob"}, "items": [2]}),
        "text": queue.enqueue("order", {"customer": {"id": "42"}}),
        "flat": queue.enqueue("order", {"customer": 42, "vip": True}),
        "none": queue.enqueue("order"),
    }


def test_find_jobs_payload_matches_by_containment(orders):
    found = queue.find_jobs(payload={"customer": {"id": 42}})
    assert ids(found) == [orders["ann"].pk]


def test_find_jobs_payload_matches_arrays_by_containment(orders):
    assert ids(queue.find_jobs(payload={"items": [2]})) == ids([orders["ann"], orders["bob"]])


def test_find_jobs_payload_has_matches_a_key_path(orders):
    assert ids(queue.find_jobs(payload_has={"customer.id": 42})) == [orders["ann"].pk]


def test_find_jobs_payload_has_tells_a_number_from_a_string(orders):
    assert ids(queue.find_jobs(payload_has={"customer.id": "42"})) == [orders["text"].pk]


def test_find_jobs_payload_has_tells_true_from_one(orders):
    assert ids(queue.find_jobs(payload_has={"vip": True})) == [orders["flat"].pk]
    assert queue.find_jobs(payload_has={"vip": 1}) == []


def test_find_jobs_payload_has_needs_every_path(orders):
    found = queue.find_jobs(payload_has={"customer.id": 42, "customer.name": "Bob"})
    assert found == []


def test_find_jobs_payload_takes_a_list_of_objects_that_must_all_be_contained(orders):
    found = queue.find_jobs(payload=[{"items": [1]}, {"items": [2]}])
    assert ids(found) == [orders["ann"].pk]


def test_find_jobs_combines_payload_with_other_filters(orders):
    other = queue.enqueue("refund", {"customer": 42})
    assert ids(queue.find_jobs(payload={"customer": 42}, job_type="refund")) == [other.pk]


def test_find_jobs_output_matches_by_containment_and_key_path():
    done = queue.enqueue("t")
    Job.objects.filter(pk=done.pk).update(output={"invoice": {"total": 9.5}})
    queue.enqueue("t")
    assert ids(queue.find_jobs(output={"invoice": {"total": 9.5}})) == [done.pk]
    assert ids(queue.find_jobs(output_has={"invoice.total": 9.5})) == [done.pk]


def _failed(*errors):
    job = queue.enqueue("t")
    Job.objects.filter(pk=job.pk).update(errors=list(errors), status=JobStatus.FAILED)
    return job


def test_find_jobs_errors_matches_one_recorded_error():
    timed_out = _failed(
        {"type": "ValueError", "message": "bad"}, {"type": "TimeoutError", "reason": "timeout"}
    )
    _failed({"type": "TimeoutError"}, {"reason": "timeout", "type": "KeyError"})
    found = queue.find_jobs(errors={"type": "TimeoutError", "reason": "timeout"})
    assert ids(found) == [timed_out.pk]


def test_find_jobs_errors_has_matches_a_key_path_in_one_error():
    timed_out = _failed({"type": "TimeoutError"})
    _failed({"type": "KeyError"})
    assert ids(queue.find_jobs(errors_has={"type": "TimeoutError"})) == [timed_out.pk]


def test_find_jobs_error_finds_text_in_the_latest_message():
    refused = _failed({"message": "boom"}, {"message": "Connection refused"})
    _failed({"message": "connection refused"}, {"message": "boom"})
    assert ids(queue.find_jobs(error="connection refused")) == [refused.pk]


def test_find_jobs_worker_finds_the_processing_jobs_a_worker_holds():
    held = queue.enqueue("t")
    done = queue.enqueue("t")
    queue.enqueue("t")
    Job.objects.filter(pk=held.pk).update(status=JobStatus.PROCESSING, locked_by="w-1")
    # A finished job may keep its last worker's name; it is not running there.
    Job.objects.filter(pk=done.pk).update(status=JobStatus.COMPLETED, locked_by="w-1")
    assert ids(queue.find_jobs(worker="w-1")) == [held.pk]
    assert queue.find_jobs(worker="w-2") == []


def test_cancel_jobs_takes_the_payload_filter(orders):
    assert queue.cancel_jobs(payload_has={"customer.id": 42}) == 1
    assert Job.objects.get(pk=orders["ann"].pk).status == JobStatus.CANCELLED
    assert Job.objects.get(pk=orders["bob"].pk).status == JobStatus.PENDING


def test_edit_jobs_takes_the_payload_filter(orders):
    assert queue.edit_jobs({"payload": {"customer": {"id": 7}}}, priority=5) == 1
    assert Job.objects.get(pk=orders["bob"].pk).priority == 5
    assert Job.objects.get(pk=orders["ann"].pk).priority == 0


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"payload": "customer=42"}, "payload: must be a JSON object"),
        ({"payload": 42}, "payload: must be a JSON object"),
        ({"payload": []}, "payload: must be a JSON object"),
        ({"payload": {1: 2}}, "object keys must be strings"),
        ({"payload": {"a": float("nan")}}, "numbers must be finite"),
        ({"payload": {"a": 2**64}}, "integers must fit in 64 bits"),
        ({"payload": {"a": object()}}, "not a JSON value"),
        ({"payload": {"a": "x" * 5000}}, "longer than 4000 characters"),
        ({"payload": {"a": "\x00"}}, "NUL"),
        ({"output": ["x"]}, "output: must be a JSON object"),
        ({"payload_has": {"customer..id": 1}}, "empty segment"),
        ({"payload_has": {".id": 1}}, "empty segment"),
        ({"payload_has": {"": 1}}, "empty segment"),
        ({"payload_has": {"a" * 501: 1}}, "longer than 500 characters"),
        ({"payload_has": {".".join("k" * 11): 1}}, "more than 10 keys"),
        ({"payload_has": {"a": 1, "a.b": 2}}, "overlap"),
        ({"payload_has": "customer.id=42"}, "mapping of key paths"),
        ({"payload_has": {}}, "mapping of key paths"),
        ({"errors_has": {"a.": 1}}, "empty segment"),
        ({"error": ""}, "error: must be non-empty text"),
        ({"error": 42}, "error: must be non-empty text"),
        ({"worker": 42}, "worker: must be a string"),
    ],
)
def test_find_jobs_refuses_bad_inside_filters_with_a_clear_error(filters, message):
    with pytest.raises(InvalidJobError, match=message):
        queue.find_jobs(**filters)


def test_cancel_jobs_with_a_bad_payload_filter_changes_nothing(orders):
    with pytest.raises(InvalidJobError):
        queue.cancel_jobs(payload="not an object")
    assert not Job.objects.filter(status=JobStatus.CANCELLED).exists()
