"""Searching inside jobs from the job list: the search box's terms, the payload field,
key-path query parameters, the worker filter and its chip, and errors in the form."""

import html as htmllib
import json
import re

import pytest

from core import queue
from core.models import Job, JobStatus

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def listed(response):
    """Ids of the jobs on a list page."""
    assert response.status_code == 200
    return sorted(job.pk for job in response.context["jobs"])


@pytest.fixture
def orders():
    return {
        "ann": queue.enqueue("order", {"customer": {"id": 42}, "plan": "pro"}),
        "bob": queue.enqueue("order", {"customer": {"id": 7}, "plan": "pro"}),
        "text": queue.enqueue("order", {"customer": {"id": "42"}}),
    }


def test_search_box_finds_jobs_by_a_payload_key_path(operator, orders):
    response = operator.get("/jobs/", {"q": "payload.customer.id=42"})
    assert listed(response) == [orders["ann"].pk]


def test_search_box_finds_a_quoted_value_as_a_string(operator, orders):
    response = operator.get("/jobs/", {"q": 'payload.customer.id="42"'})
    assert listed(response) == [orders["text"].pk]


def test_search_box_finds_jobs_by_payload_containment(operator, orders):
    response = operator.get("/jobs/", {"q": 'payload:{"customer": {"id": 7}}'})
    assert listed(response) == [orders["bob"].pk]


def test_search_box_terms_must_all_hold(operator, orders):
    response = operator.get("/jobs/", {"q": "payload.plan=pro payload.customer.id=7"})
    assert listed(response) == [orders["bob"].pk]


def test_search_box_finds_jobs_by_the_latest_error(operator, orders):
    Job.objects.filter(pk=orders["bob"].pk).update(
        errors=[{"message": "Connection refused"}], status=JobStatus.FAILED
    )
    assert listed(operator.get("/jobs/", {"q": 'error:"connection refused"'})) == [orders["bob"].pk]


def test_search_box_finds_jobs_by_output(operator, orders):
    Job.objects.filter(pk=orders["ann"].pk).update(output={"invoice": 12})
    assert listed(operator.get("/jobs/", {"q": "output.invoice=12"})) == [orders["ann"].pk]


def test_search_box_still_finds_an_id(operator, orders):
    assert listed(operator.get("/jobs/", {"q": f"#{orders['bob'].pk}"})) == [orders["bob"].pk]


def test_payload_field_filters_by_containment(operator, orders):
    response = operator.get("/jobs/", {"payload": '{"customer": {"id": 42}}'})
    assert listed(response) == [orders["ann"].pk]
    assert 'value="{&quot;customer&quot;: {&quot;id&quot;: 42}}"' in response.content.decode()


def test_payload_key_path_query_parameter_filters_the_list(operator, orders):
    response = operator.get("/jobs/", {"payload.customer.id": "7"})
    assert listed(response) == [orders["bob"].pk]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "payload.customer..id=1"}, "empty segment"),
        ({"q": "payload:{oops"}, "payload: must be a JSON object"),
        ({"q": "payload.a=1 stray"}, "cannot read &#x27;stray&#x27;"),
        ({"payload": "{oops"}, "Not JSON"),
        ({"payload": "[1]"}, "payload: must be a JSON object"),
        ({"payload.": "1"}, "empty segment"),
        ({"errors": "nope"}, "errors: Not JSON"),
        ({"worker": "w-1", "q": "worker:w-2"}, "worker: given both"),
        ({"payload.a": "1", "q": "payload.a=2"}, "payload.a: given twice, with two values"),
    ],
)
def test_bad_searches_show_an_error_in_the_form_and_no_jobs(operator, orders, params, message):
    response = operator.get("/jobs/", params)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="error" role="alert"' in html
    assert message in html
    assert listed(response) == []


def _hold(job, worker):
    Job.objects.filter(pk=job.pk).update(status=JobStatus.PROCESSING, locked_by=worker)


def test_the_same_key_path_in_the_search_and_the_query_is_one_filter(operator, orders):
    response = operator.get("/jobs/", {"payload.plan": "pro", "q": "payload.plan=pro"})
    assert listed(response) == sorted([orders["ann"].pk, orders["bob"].pk])


def test_worker_parameter_lists_the_jobs_a_worker_runs(operator, orders):
    _hold(orders["ann"], "w-1")
    _hold(orders["bob"], "w-2")
    assert listed(operator.get("/jobs/", {"worker": "w-1"})) == [orders["ann"].pk]


def test_worker_search_term_lists_the_jobs_a_worker_runs(operator, orders):
    _hold(orders["bob"], "w-2")
    assert listed(operator.get("/jobs/", {"q": "worker:w-2"})) == [orders["bob"].pk]


def test_worker_filter_shows_as_a_chip_that_removes_it(operator, orders):
    html = operator.get("/jobs/", {"worker": "w-1", "queue": "default"}).content.decode()
    chip = re.search(r'<span class="tag chip" data-filter="worker">(.*?)</span>', html)
    assert chip
    assert "worker: w-1" in chip.group(1)
    remove = htmllib.unescape(re.search(r'href="([^"]+)"', chip.group(1)).group(1))
    assert remove == "/jobs/?queue=default"


def test_filter_form_keeps_the_worker_and_key_path_filters(operator, orders):
    html = operator.get("/jobs/", {"worker": "w-1", "payload.plan": "pro"}).content.decode()
    start = html.index('id="job-filters"')
    form = html[start : html.index("</form>", start)]
    assert '<input type="hidden" name="worker" value="w-1">' in form
    assert '<input type="hidden" name="payload.plan" value="pro">' in form


def test_status_tab_counts_follow_the_payload_search(operator, orders):
    response = operator.get("/jobs/counts/", {"q": "payload.plan=pro"}, headers=HTMX)
    assert response.context["tab_counts"]["all"].value == 2


def test_search_page_shows_the_search_syntax(operator):
    html = operator.get("/jobs/").content.decode()
    assert "payload.customer.id=42" in html
    assert "worker:&lt;id&gt;" in html


def test_bulk_confirm_freezes_a_payload_search_as_filters(operator, orders):
    response = operator.get(
        "/jobs/bulk/confirm/", {"action": "cancel", "q": "payload.plan=pro"}, headers=HTMX
    )
    html = response.content.decode()
    assert '<strong id="bulk-total">2</strong>' in html
    frozen = re.search(r'name="filters" value="([^"]*)"', html).group(1)
    assert json.loads(htmllib.unescape(frozen)) == {"payload_has": {"plan": "pro"}}
