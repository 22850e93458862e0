"""The dashboard's bulk delete: of the selected rows and of everything matching a filter."""

import json
import logging

import pytest

from core import queue
from core.models import Job, JobEvent
from tests.dashboard.test_jobs import HTMX, hidden_inputs
from tests.records import set_status
from tests.users import client_for, make_user, messages_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def deleter():
    """Staff who may view and delete jobs, but not change them."""
    return client_for(make_user("deleter", "view_job", "delete_job"))


@pytest.fixture
def mail_jobs():
    """Four pending jobs in the mail queue (one with an event), one processing, one elsewhere."""
    pending = queue.enqueue_many([{"job_type": "x", "queue": "mail"} for _ in range(4)])
    queue.edit_job(pending[0].pk, priority=3)  # an event to delete with it
    running = queue.enqueue("x", queue="mail")
    set_status(running, "processing")
    other = queue.enqueue("x", queue="reports")
    return pending, running, other


def remaining():
    return set(Job.objects.values_list("id", flat=True))


def confirm(client, **params):
    return client.get("/jobs/bulk/confirm/", {"action": "delete", **params}, headers=HTMX)


def run_to_end(client, fields):
    for _ in range(20):
        response = client.post("/jobs/bulk/run/", fields, headers=HTMX)
        assert response.status_code == 200
        html = response.content.decode()
        if 'id="bulk-done"' in html or "error" in html:
            return response
        fields = hidden_inputs(html)
    raise AssertionError("the bulk delete never finished")


# -- the Jobs page -------------------------------------------------------------------------


def test_jobs_page_offers_delete_buttons_to_users_who_may_delete(deleter, mail_jobs):
    html = deleter.get("/jobs/").content.decode()
    assert 'id="delete-selected"' in html
    assert 'id="delete-all"' in html
    assert 'name="ids"' in html  # rows can be selected
    assert 'value="cancel"' not in html  # no change permission: no cancel


def test_jobs_page_hides_delete_buttons_without_the_delete_permission(operator, mail_jobs):
    html = operator.get("/jobs/").content.decode()
    assert 'id="delete-selected"' not in html
    assert 'id="delete-all"' not in html


# -- selected rows ---------------------------------------------------------------------------


def test_bulk_delete_of_selected_rows_deletes_them_with_their_events(deleter, mail_jobs):
    pending, _, _ = mail_jobs
    chosen = [pending[0].pk, pending[1].pk]
    response = deleter.post("/jobs/bulk/", {"action": "delete", "ids": chosen}, follow=True)
    assert messages_of(response) == ["Deleted 2 job(s)."]
    assert not remaining() & set(chosen)
    assert not JobEvent.objects.filter(job_id__in=chosen).exists()


def test_bulk_delete_of_selected_rows_skips_processing_jobs_and_says_so(deleter, mail_jobs):
    pending, running, _ = mail_jobs
    response = deleter.post(
        "/jobs/bulk/", {"action": "delete", "ids": [pending[0].pk, running.pk]}, follow=True
    )
    [message] = messages_of(response)
    assert message.startswith("Deleted 1 job(s); 1 skipped (processing")
    assert running.pk in remaining()


def test_bulk_delete_needs_the_delete_permission(operator, mail_jobs):
    pending, _, _ = mail_jobs
    response = operator.post("/jobs/bulk/", {"action": "delete", "ids": [pending[0].pk]})
    assert response.status_code == 403
    assert pending[0].pk in remaining()
    assert confirm(operator, queue="mail").status_code == 403


def test_bulk_delete_permission_alone_does_not_allow_cancel(deleter, mail_jobs):
    pending, _, _ = mail_jobs
    response = deleter.post("/jobs/bulk/", {"action": "cancel", "ids": [pending[0].pk]})
    assert response.status_code == 403
    assert Job.objects.get(pk=pending[0].pk).status == "pending"


# -- everything matching a filter ------------------------------------------------------------


def test_bulk_delete_confirm_counts_jobs_and_names_the_processing_ones_it_skips(deleter, mail_jobs):
    response = confirm(deleter, queue="mail")
    html = response.content.decode()
    assert '<strong id="bulk-total">4</strong>' in html
    assert "Yes, delete 4 job(s)" in html
    assert '<span id="bulk-processing">1 processing job(s) match too' in html
    assert json.loads(hidden_inputs(html)["filters"]) == {"queue": "mail"}
    assert len(remaining()) == 6  # only a question so far


def test_bulk_delete_confirm_says_nothing_of_processing_jobs_when_none_match(deleter, mail_jobs):
    html = confirm(deleter, queue="reports").content.decode()
    assert '<strong id="bulk-total">1</strong>' in html
    assert "bulk-processing" not in html


def test_bulk_delete_confirm_refuses_without_any_filter(deleter, mail_jobs):
    html = confirm(deleter).content.decode()
    assert "Choose a filter or a status tab first" in html
    assert "/jobs/bulk/run/" not in html


def test_bulk_delete_of_a_filter_deletes_in_chunks_and_refreshes_the_table(
    deleter, mail_jobs, settings
):
    settings.QUEUEADMIN = {"BULK_CHUNK_SIZE": 2, "DASHBOARD_BULK_SECONDS": 0}
    pending, running, other = mail_jobs
    fields = hidden_inputs(confirm(deleter, queue="mail").content.decode())
    first = deleter.post("/jobs/bulk/run/", fields, headers=HTMX).content.decode()
    assert "Deleted 2 of 4 job(s) so far" in first
    response = run_to_end(deleter, hidden_inputs(first))
    assert "Done: deleted 4 job(s)." in response.content.decode()
    assert response["HX-Trigger"] == "jobs-changed"
    assert remaining() == {running.pk, other.pk}
    assert not JobEvent.objects.filter(job_id=pending[0].pk).exists()


def test_bulk_delete_of_a_filter_leaves_jobs_added_after_the_confirmation(deleter, mail_jobs):
    fields = hidden_inputs(confirm(deleter, queue="mail").content.decode())
    late = queue.enqueue("x", queue="mail")
    run_to_end(deleter, fields)
    assert late.pk in remaining()


def test_bulk_delete_of_a_filter_says_how_many_it_skipped(deleter, mail_jobs):
    pending, _, _ = mail_jobs
    fields = hidden_inputs(confirm(deleter, queue="mail").content.decode())
    set_status(pending[0], "processing")  # claimed between confirmation and run
    html = run_to_end(deleter, fields).content.decode()
    assert "Done: deleted 3 job(s)." in html
    assert '<p class="muted" id="bulk-skipped">1 job(s)' in html


def test_bulk_delete_of_a_filter_is_logged_with_the_user(deleter, mail_jobs, caplog):
    fields = hidden_inputs(confirm(deleter, queue="mail").content.decode())
    with caplog.at_level(logging.INFO, logger="queueadmin.queue"):
        run_to_end(deleter, fields)
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Jobs deleted")]
    assert "count=4 " in line
    assert "by=deleter" in line
    assert "filters=queue=mail" in line


def test_bulk_delete_skipped_count_reads_a_total_with_thousands_separators(deleter, mail_jobs):
    fields = hidden_inputs(confirm(deleter, queue="mail").content.decode())
    fields["total"] = "1,004"  # as the confirmation renders counts above a thousand
    html = run_to_end(deleter, fields).content.decode()
    assert '<p class="muted" id="bulk-skipped">1000 job(s)' in html
