"""The dashboard's job list: tabs, filters, search, keyset pages, row and bulk actions."""

import html as htmllib
import json
import re
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import queue
from core.models import Job, JobEvent, JobStatus
from tests.records import set_status

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
TABLE = {"HX-Request": "true", "HX-Target": "job-table"}


def listed(response):
    """Ids of the jobs on a list page, in page order."""
    return [job.pk for job in response.context["jobs"]]


def ids(*jobs):
    return sorted(job.pk for job in jobs)


def hidden_inputs(html):
    """The hidden inputs of a form fragment, by name."""
    return {
        name: htmllib.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    }


def tab_counts(html):
    """{status: count text} of the status tabs fragment."""
    found = re.findall(r'data-status="(\w+)">\w+ <span class="count">([^<]*)</span>', html)
    return dict(found)


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


# -- status tabs and counts ---------------------------------------------------


@pytest.fixture
def one_per_status():
    """One job in each status, by status."""
    jobs = {}
    for status in JobStatus.values:
        job = queue.enqueue("x", {"status": status})
        set_status(job, status)
        jobs[status] = job
    return jobs


@pytest.mark.parametrize("status", JobStatus.values)
def test_each_status_tab_shows_only_that_status(operator, one_per_status, status):
    response = operator.get("/jobs/", {"status": status})
    assert response.status_code == 200
    assert listed(response) == [one_per_status[status].pk]
    assert f'class="tab active" data-status="{status}"' in response.content.decode()


def test_all_tab_shows_every_status(operator, one_per_status):
    response = operator.get("/jobs/")
    assert sorted(listed(response)) == ids(*one_per_status.values())


def test_counts_fragment_counts_per_status_under_the_other_filters(operator):
    for status, n in (("pending", 3), ("failed", 2), ("completed", 1)):
        for _ in range(n):
            set_status(queue.enqueue("x", queue="mail"), status)
    set_status(queue.enqueue("x", queue="other"), "failed")
    response = operator.get("/jobs/counts/", {"queue": "mail", "status": "failed"})
    html = response.content.decode()
    assert "<html" not in html
    assert tab_counts(html) == {
        "all": "6",
        "pending": "3",
        "processing": "0",
        "waiting": "0",
        "completed": "1",
        "failed": "2",
        "cancelled": "0",
    }
    assert 'class="tab active" data-status="failed"' in html


def test_counts_loaded_from_a_status_tab_keep_that_tab_active(operator):
    set_status(queue.enqueue("x", queue="mail"), "failed")
    queue.enqueue("x", queue="mail")
    html = operator.get("/jobs/", {"status": "failed", "queue": "mail"}).content.decode()
    assert 'class="tab active" data-status="failed"' in html
    url = re.search(r'id="status-tabs"[^>]*?hx-get="([^"]+)"', html, re.S).group(1)
    fragment = operator.get(htmllib.unescape(url), headers=HTMX).content.decode()
    assert tab_counts(fragment)["all"] == "2"  # counted under the queue filter only
    assert 'class="tab active" data-status="failed"' in fragment
    assert 'class="tab active" data-status="all"' not in fragment


def test_job_page_loads_the_counts_without_counting(operator):
    html = operator.get("/jobs/", {"queue": "mail"}).content.decode()
    assert 'hx-get="/jobs/counts/?queue=mail"' in html
    assert 'hx-trigger="load"' in html
    assert tab_counts(html)["all"] == "…"


# -- filters ----------------------------------------------------------------


def test_queue_filter(operator):
    mail = queue.enqueue("x", queue="mail")
    queue.enqueue("x", queue="reports")
    assert listed(operator.get("/jobs/", {"queue": "mail"})) == [mail.pk]


def test_job_type_filter(operator):
    send = queue.enqueue("email.send")
    queue.enqueue("email.bounce")
    assert listed(operator.get("/jobs/", {"job_type": "email.send"})) == [send.pk]


@pytest.fixture
def tagged():
    return {
        name: queue.enqueue("x", tags=tags)
        for name, tags in {
            "ab": ["a", "b"],
            "abc": ["a", "b", "c"],
            "a": ["a"],
            "b": ["b"],
            "c": ["c"],
            "none": [],
        }.items()
    }


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("exact", {"ab"}),
        ("all", {"ab", "abc"}),
        ("any", {"ab", "abc", "a", "b"}),
        ("none", {"c", "none"}),
    ],
)
def test_tags_filter_with_each_mode(operator, tagged, mode, expected):
    response = operator.get("/jobs/", {"tags": "a, b", "tag_mode": mode})
    assert sorted(listed(response)) == ids(*(tagged[name] for name in expected))


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("15m", {"10m"}),
        ("1h", {"10m", "30m"}),
        ("24h", {"10m", "30m", "2h"}),
        ("7d", {"10m", "30m", "2h", "2d"}),
    ],
)
def test_since_filter(operator, since, expected):
    now = timezone.now()
    ages = {
        "10m": timedelta(minutes=10),
        "30m": timedelta(minutes=30),
        "2h": timedelta(hours=2),
        "2d": timedelta(days=2),
        "10d": timedelta(days=10),
    }
    jobs = {}
    for name, age in ages.items():
        jobs[name] = queue.enqueue("x")
        Job.objects.filter(pk=jobs[name].pk).update(created_at=now - age)
    response = operator.get("/jobs/", {"since": since})
    assert sorted(listed(response)) == ids(*(jobs[name] for name in expected))


def test_from_and_to_filter_created_at(operator):
    jobs = {}
    for hour in (10, 12, 14):
        jobs[hour] = queue.enqueue("x")
        Job.objects.filter(pk=jobs[hour].pk).update(
            created_at=timezone.make_aware(datetime(2024, 1, 1, hour))
        )
    response = operator.get(
        "/jobs/", {"created_after": "2024-01-01T11:00", "created_before": "2024-01-01T14:00"}
    )
    assert listed(response) == [jobs[12].pk]
    response = operator.get("/jobs/", {"created_after": "2024-01-01T12:00"})
    assert sorted(listed(response)) == ids(jobs[12], jobs[14])


@pytest.mark.parametrize("term", ["{id}", "#{id}", " #{id} ", "order-99"])
def test_search_by_id_hash_id_and_idempotency_key(operator, term):
    target = queue.enqueue("billing.charge", idempotency_key="order-99")
    queue.enqueue("billing.charge", idempotency_key="order-100")
    queue.enqueue("billing.charge")
    response = operator.get("/jobs/", {"q": term.format(id=target.pk)})
    assert listed(response) == [target.pk]


def test_search_for_nothing_known_shows_no_jobs(operator):
    queue.enqueue("x")
    response = operator.get("/jobs/", {"q": "no-such-key"})
    assert listed(response) == []
    assert "No jobs match." in response.content.decode()
    assert "matches the search" not in response.content.decode()


def _made_yesterday(**options):
    job = queue.enqueue("x", **options)
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=1))
    return job


@pytest.mark.parametrize("term", ["#{id}", "order-7"])
def test_search_for_a_job_outside_the_time_filter_says_it_exists(operator, term):
    old = _made_yesterday(idempotency_key="order-7")
    response = operator.get("/jobs/", {"q": term.format(id=old.pk), "since": "1h"})
    assert listed(response) == []
    body = response.content.decode()
    assert f'<a href="/jobs/{old.pk}/">Job #{old.pk}</a>' in body
    assert "matches the search but not the other filters" in body


def test_search_for_a_job_of_another_status_says_it_exists(operator):
    job = queue.enqueue("x")
    response = operator.get("/jobs/", {"q": str(job.pk), "status": "failed"})
    assert listed(response) == []
    assert f"Job #{job.pk}</a>" in response.content.decode()


def test_an_empty_older_page_does_not_point_at_the_searched_job(operator):
    old = _made_yesterday()
    response = operator.get("/jobs/", {"q": str(old.pk), "since": "1h", "before": old.pk})
    assert listed(response) == []
    assert "matches the search" not in response.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"created_after": "2024-01-02T00:00", "created_before": "2024-01-01T00:00"},
            "“From” must be earlier than “To”.",
        ),
        (
            {"created_after": "2024-01-01T00:00", "created_before": "2024-01-01T00:00"},
            "“From” must be earlier than “To”.",
        ),
        ({"created_after": "not-a-date"}, "Enter a valid date/time."),
        ({"status": "exploded"}, "Select a valid choice."),
        ({"since": "1y"}, "Select a valid choice."),
        ({"tag_mode": "some", "tags": "a"}, "Select a valid choice."),
    ],
)
def test_invalid_filters_show_a_clear_error_and_no_jobs(operator, params, message):
    queue.enqueue("x")
    response = operator.get("/jobs/", params)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="error" role="alert"' in html
    assert message in html
    assert listed(response) == []
    counts = operator.get("/jobs/counts/", params)
    assert counts.status_code == 200
    assert tab_counts(counts.content.decode())["all"] == "0"


@pytest.mark.parametrize(
    "cursor", [{"before": "abc", "after": "-1"}, {"before": "²"}, {"after": "¹"}]
)
def test_a_bad_page_cursor_is_ignored(operator, cursor):
    job = queue.enqueue("x")
    response = operator.get("/jobs/", cursor)
    assert response.status_code == 200
    assert listed(response) == [job.pk]


@pytest.mark.parametrize("term", ["²", "#¹²", "9" * 30])
def test_search_for_odd_digits_finds_nothing_and_does_not_crash(operator, term):
    queue.enqueue("x")
    response = operator.get("/jobs/", {"q": term})
    assert response.status_code == 200
    assert listed(response) == []


# -- keyset pagination ---------------------------------------------------------


def pager_link(html, rel):
    match = re.search(rf'<a href="([^"]+)" rel="{rel}">', html)
    return htmllib.unescape(match.group(1)) if match else None


def test_keyset_pages_walk_every_job_once_without_offset(operator, settings):
    settings.QUEUEADMIN = {"DASHBOARD_PAGE_SIZE": 3}
    jobs = queue.enqueue_many([{"job_type": "x", "queue": "q"} for _ in range(8)])
    queue.enqueue_many([{"job_type": "x", "queue": "elsewhere"} for _ in range(2)])
    expected = sorted((job.pk for job in jobs), reverse=True)

    pages, url = [], "/jobs/?queue=q"
    with CaptureQueriesContext(connection) as queries:
        while url:
            response = operator.get(url)
            pages.append(listed(response))
            html = response.content.decode()
            if len(pages) > 1:
                assert pager_link(html, "prev") is not None
            url = pager_link(html, "next")
            assert len(pages) < 10
    sql = [q["sql"] for q in queries.captured_queries]
    assert [len(page) for page in pages] == [3, 3, 2]
    assert [pk for page in pages for pk in page] == expected
    assert pager_link(operator.get("/jobs/?queue=q").content.decode(), "prev") is None
    assert any("queueadmin_job" in s for s in sql)
    assert not [s for s in sql if "OFFSET" in s.upper()]


def test_newer_links_walk_back_to_the_first_page(operator, settings):
    settings.QUEUEADMIN = {"DASHBOARD_PAGE_SIZE": 3}
    queue.enqueue_many([{"job_type": "x"} for _ in range(7)])
    forward, url = [], "/jobs/"
    while url:
        html = operator.get(url).content.decode()
        forward.append(url)
        last_html, url = html, pager_link(html, "next")
    backward = []
    with CaptureQueriesContext(connection) as queries:
        url = pager_link(last_html, "prev")
        while url:
            response = operator.get(url)
            backward.append(listed(response))
            url = pager_link(response.content.decode(), "prev")
    sql = [q["sql"] for q in queries.captured_queries]
    first_pages = [listed(operator.get(u)) for u in forward[:-1]]
    assert len(first_pages) == 2
    assert backward == first_pages[::-1]
    assert any("queueadmin_job" in s for s in sql)
    assert not [s for s in sql if "OFFSET" in s.upper()]


def test_a_job_added_while_paging_is_not_repeated_or_skipped(operator, settings):
    settings.QUEUEADMIN = {"DASHBOARD_PAGE_SIZE": 2}
    jobs = queue.enqueue_many([{"job_type": "x"} for _ in range(4)])
    first = operator.get("/jobs/")
    queue.enqueue("x")  # newer than every page; must not shift the next page
    second = operator.get(pager_link(first.content.decode(), "next"))
    seen = listed(first) + listed(second)
    assert seen == sorted((job.pk for job in jobs), reverse=True)


# -- htmx partial rendering ------------------------------------------------------


def test_htmx_request_for_the_table_gets_only_the_table(operator):
    job = queue.enqueue("x")
    response = operator.get("/jobs/", headers=TABLE)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "<head" not in html
    assert html.lstrip().startswith('<div id="job-table"')
    assert f'id="job-{job.pk}"' in html
    assert 'id="job-filters"' not in html
    assert 'id="status-tabs"' not in html


def test_a_full_page_request_gets_the_whole_page(operator):
    html = operator.get("/jobs/").content.decode()
    assert "<html" in html
    assert 'id="job-table"' in html
    assert 'id="job-filters"' in html


# -- row actions --------------------------------------------------------------------


@pytest.fixture
def states():
    failed = queue.enqueue("x")
    set_status(failed, "failed", attempts=3, failed_at=timezone.now())
    later = queue.enqueue("x", run_at=timezone.now() + timedelta(hours=2))
    done = queue.enqueue("x")
    set_status(done, "completed", completed_at=timezone.now(), output={"ok": True})
    return {
        "failed": Job.objects.get(pk=failed.pk),
        "later": Job.objects.get(pk=later.pk),
        "completed": Job.objects.get(pk=done.pk),
    }


ROW_CASES = [
    ("retry", "failed", lambda job: job.status == "pending" and job.max_attempts == 4),
    ("cancel", "later", lambda job: job.status == "cancelled"),
    ("run_now", "later", lambda job: job.status == "pending" and job.run_at <= timezone.now()),
]


@pytest.mark.parametrize(("action", "which", "changed"), ROW_CASES)
def test_row_action_via_htmx_returns_the_updated_row(operator, states, action, which, changed):
    job = states[which]
    response = operator.post(f"/jobs/{job.pk}/{action}/", {"row": "1"}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode().strip()
    assert html.startswith(f'<tr id="job-{job.pk}"')
    assert html.endswith("</tr>")
    assert "<html" not in html
    stored = Job.objects.get(pk=job.pk)
    assert changed(stored)
    assert f'data-status="{stored.status}"' in html
    assert 'role="alert"' not in html


@pytest.mark.parametrize(("action", "which", "changed"), ROW_CASES)
def test_row_action_without_htmx_redirects_with_a_message(operator, states, action, which, changed):
    job = states[which]
    response = operator.post(f"/jobs/{job.pk}/{action}/", {"next": "/jobs/?queue=default"})
    assert response.status_code == 303
    assert response["Location"] == "/jobs/?queue=default"
    assert changed(Job.objects.get(pk=job.pk))
    page = operator.get(response["Location"])
    done = {"retry": "retried", "cancel": "cancelled", "run_now": "made due now"}[action]
    assert messages_of(page) == [f"Job #{job.pk} {done}."]


def test_row_action_without_next_goes_to_the_job_page(operator, states):
    job = states["failed"]
    response = operator.post(f"/jobs/{job.pk}/retry/")
    assert response.status_code == 303
    assert response["Location"] == f"/jobs/{job.pk}/"


def test_row_action_via_htmx_without_row_asks_for_a_redirect(operator, states):
    job = states["failed"]
    response = operator.post(f"/jobs/{job.pk}/retry/", headers=HTMX)
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"/jobs/{job.pk}/"


FORBIDDEN = [
    ("retry", "later", "cannot retry"),
    ("cancel", "completed", "cannot cancel"),
    ("run_now", "failed", "cannot edit"),
]


@pytest.mark.parametrize(("action", "which", "text"), FORBIDDEN)
def test_row_action_in_a_forbidding_state_says_so_and_changes_nothing(
    operator, states, action, which, text
):
    job = states[which]
    before = Job.objects.filter(pk=job.pk).values().get()
    events = JobEvent.objects.count()
    response = operator.post(f"/jobs/{job.pk}/{action}/", follow=True)
    assert response.status_code == 200
    [message] = messages_of(response)
    assert text in message
    assert f"it is {job.status}" in message
    assert Job.objects.filter(pk=job.pk).values().get() == before
    assert JobEvent.objects.count() == events


@pytest.mark.parametrize(("action", "which", "text"), FORBIDDEN)
def test_row_action_via_htmx_in_a_forbidding_state_shows_the_error_in_the_row(
    operator, states, action, which, text
):
    job = states[which]
    before = Job.objects.filter(pk=job.pk).values().get()
    response = operator.post(f"/jobs/{job.pk}/{action}/", {"row": "1"}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<tr id="job-{job.pk}"' in html
    assert 'class="row-error" role="alert"' in html
    assert text in html
    assert Job.objects.filter(pk=job.pk).values().get() == before


# -- bulk on selected rows ------------------------------------------------------------


def test_bulk_on_selected_rows_changes_them_and_notes_the_skipped(operator, states):
    failed, done, later = states["failed"], states["completed"], states["later"]
    response = operator.post(
        "/jobs/bulk/",
        {"action": "retry", "ids": [failed.pk, done.pk, later.pk], "next": "/jobs/"},
        follow=True,
    )
    assert messages_of(response) == ["Retried 2 job(s); 1 skipped (not in a state that allows it)."]
    statuses = dict(Job.objects.values_list("id", "status"))
    assert (statuses[failed.pk], statuses[done.pk]) == ("pending", "pending")
    assert Job.objects.get(pk=later.pk).run_at == later.run_at
    events = JobEvent.objects.filter(type="retried")
    assert sorted(events.values_list("job_id", flat=True)) == ids(failed, done)
    assert {e.metadata["actor"] for e in events} == {"operator"}


def test_bulk_on_selected_rows_without_skips_has_no_note(operator):
    jobs = queue.enqueue_many([{"job_type": "x"} for _ in range(3)])
    response = operator.post(
        "/jobs/bulk/", {"action": "cancel", "ids": [j.pk for j in jobs]}, follow=True
    )
    assert messages_of(response) == ["Cancelled 3 job(s)."]
    assert Job.objects.filter(status="cancelled").count() == 3


def test_bulk_on_selected_rows_changes_every_row_beyond_one_chunk(operator, settings):
    settings.QUEUEADMIN = {"BULK_CHUNK_SIZE": 2}
    jobs = queue.enqueue_many([{"job_type": "x"} for _ in range(5)])
    response = operator.post(
        "/jobs/bulk/", {"action": "cancel", "ids": [j.pk for j in jobs]}, follow=True
    )
    assert Job.objects.filter(status="cancelled").count() == 5
    assert messages_of(response) == ["Cancelled 5 job(s)."]


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({"action": "cancel"}, "Select at least one job first"),
        ({"action": "explode", "ids": ["1"]}, "Unknown bulk action 'explode'"),
        ({"action": "cancel", "ids": ["²"]}, "Select at least one job first"),
    ],
)
def test_bulk_on_selected_rows_with_bad_input_says_so(operator, data, text):
    job = queue.enqueue("x")
    data = {k: [str(job.pk)] if v == ["1"] else v for k, v in data.items()}
    response = operator.post("/jobs/bulk/", data, follow=True)
    [message] = messages_of(response)
    assert message.startswith(text)
    assert Job.objects.get(pk=job.pk).status == "pending"


# -- bulk on everything matching a filter ------------------------------------------------


@pytest.fixture
def mail_jobs():
    """Five pending jobs in the mail queue, a completed one, and one elsewhere."""
    pending = queue.enqueue_many([{"job_type": "x", "queue": "mail"} for _ in range(5)])
    done = queue.enqueue("x", queue="mail")
    set_status(done, "completed")
    other = queue.enqueue("x", queue="reports")
    return pending, done, other


def confirm(client, **params):
    return client.get("/jobs/bulk/confirm/", params, headers=HTMX)


def test_bulk_confirm_says_how_many_jobs_it_will_touch(operator, mail_jobs):
    response = confirm(operator, action="cancel", queue="mail")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert '<strong id="bulk-total">5</strong>' in html
    assert "Yes, cancel 5 job(s)" in html
    fields = hidden_inputs(html)
    assert fields["action"] == "cancel"
    assert json.loads(fields["filters"]) == {"queue": "mail"}
    assert int(fields["up_to_id"]) == Job.objects.order_by("-id").first().pk
    assert Job.objects.filter(status="cancelled").count() == 0  # only a question so far


def test_bulk_confirm_counts_only_jobs_the_action_allows(operator, mail_jobs):
    html = confirm(operator, action="retry", queue="mail").content.decode()
    assert '<strong id="bulk-total">1</strong>' in html


def test_bulk_confirm_refuses_without_any_filter(operator, mail_jobs):
    html = confirm(operator, action="cancel").content.decode()
    assert 'class="panel error" role="alert"' in html
    assert "Choose a filter or a status tab first; this would touch every job" in html
    assert "/jobs/bulk/run/" not in html


def test_bulk_confirm_refuses_an_unknown_action(operator, mail_jobs):
    html = confirm(operator, action="explode", queue="mail").content.decode()
    assert "Unknown bulk action &#x27;explode&#x27;" in html
    assert "/jobs/bulk/run/" not in html


def test_bulk_confirm_refuses_invalid_filters(operator, mail_jobs):
    html = confirm(operator, action="cancel", created_after="nonsense").content.decode()
    assert "Fix the filters first" in html
    assert "/jobs/bulk/run/" not in html


def test_bulk_confirm_with_a_search_freezes_the_matching_ids(operator, mail_jobs):
    target = mail_jobs[0][2]
    html = confirm(operator, action="cancel", q=f"#{target.pk}").content.decode()
    assert '<strong id="bulk-total">1</strong>' in html
    assert json.loads(hidden_inputs(html)["filters"]) == {"ids": [target.pk]}


def run_step(client, fields):
    response = client.post("/jobs/bulk/run/", fields, headers=HTMX)
    assert response.status_code == 200
    return response


def test_bulk_run_does_one_chunk_per_request_until_done(operator, settings, mail_jobs):
    settings.QUEUEADMIN = {"BULK_CHUNK_SIZE": 2, "DASHBOARD_BULK_SECONDS": 0}
    fields = hidden_inputs(confirm(operator, action="cancel", queue="mail").content.decode())
    cancelled = []
    response = run_step(operator, fields)
    for _ in range(10):
        cancelled.append(Job.objects.filter(status="cancelled").count())
        html = response.content.decode()
        if "Done" in html:
            break
        assert "HX-Trigger" not in response
        assert 'hx-post="/jobs/bulk/run/"' in html
        assert re.search(r'hx-trigger="load\b', html)
        assert f"{cancelled[-1]} of 5 job(s) so far" in html
        response = run_step(operator, hidden_inputs(html))
    assert cancelled[:3] == [2, 4, 5]
    assert 'id="bulk-done"' in html
    assert "Done: cancelled 5 job(s)." in html
    assert response["HX-Trigger"] == "jobs-changed"
    _, done, other = mail_jobs
    assert Job.objects.get(pk=done.pk).status == "completed"
    assert Job.objects.get(pk=other.pk).status == "pending"


def test_bulk_run_finishes_and_tells_the_table_to_refresh(operator, mail_jobs):
    fields = hidden_inputs(confirm(operator, action="cancel", queue="mail").content.decode())
    response = run_step(operator, fields)
    assert "Done: cancelled 5 job(s)." in response.content.decode()
    assert response["HX-Trigger"] == "jobs-changed"
    events = JobEvent.objects.filter(type="cancelled")
    assert events.count() == 5
    assert {(e.metadata["actor"], e.metadata["bulk"]) for e in events} == {("operator", True)}


def test_bulk_run_leaves_jobs_added_after_the_confirmation_alone(operator, mail_jobs):
    fields = hidden_inputs(confirm(operator, action="cancel", queue="mail").content.decode())
    late = queue.enqueue("x", queue="mail")
    response = run_step(operator, fields)
    assert "Done: cancelled 5 job(s)." in response.content.decode()
    assert late.pk > int(fields["up_to_id"])
    assert Job.objects.get(pk=late.pk).status == "pending"
    assert not JobEvent.objects.filter(job_id=late.pk, type="cancelled").exists()


@pytest.mark.parametrize(
    ("filters", "text"),
    [
        ("not json", "The bulk action&#x27;s filters are not valid; start again"),
        ("[1, 2]", "The bulk action&#x27;s filters are not valid; start again"),
        ('{"created_after": "yesterday"}', "filters are not valid; start again"),
        ('{"queue": "mail", "bogus": 1}', "Unknown filter bogus"),
        ('{"status": 5}', "Status: must be a string or a list of strings"),
    ],
)
def test_bulk_run_with_tampered_filters_says_so_and_changes_nothing(
    operator, mail_jobs, filters, text
):
    response = run_step(
        operator, {"action": "cancel", "filters": filters, "up_to_id": 10**9, "total": "5"}
    )
    html = response.content.decode()
    assert 'class="panel error" role="alert"' in html
    assert text in html
    assert "HX-Trigger" not in response
    assert Job.objects.filter(status="cancelled").count() == 0


def test_bulk_run_with_filters_emptied_refuses_to_touch_every_job(operator, mail_jobs):
    response = run_step(
        operator, {"action": "cancel", "filters": "{}", "up_to_id": 10**9, "total": "5"}
    )
    assert 'role="alert"' in response.content.decode()
    assert Job.objects.filter(status="cancelled").count() == 0


def test_bulk_run_with_a_bad_cursor_says_so(operator, mail_jobs):
    response = run_step(
        operator,
        {"action": "cancel", "filters": '{"queue": "mail"}', "up_to_id": "x", "total": "5"},
    )
    assert "Bad bulk request" in response.content.decode()
    assert Job.objects.filter(status="cancelled").count() == 0


# -- no N+1 ---------------------------------------------------------------------------


def queries_for(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    assert any("queueadmin_job" in q["sql"] for q in queries.captured_queries)
    return len(queries)


def add_varied_jobs(n, start=0):
    statuses = JobStatus.values
    jobs = queue.enqueue_many(
        [{"job_type": f"t{i % 3}", "tags": ["a", f"t{i}"], "payload": {"i": i}} for i in range(n)]
    )
    for i, job in enumerate(jobs):
        set_status(job, statuses[(start + i) % len(statuses)], progress=i % 100)
    return jobs


def test_job_list_queries_do_not_grow_with_the_rows(operator):
    add_varied_jobs(5)
    operator.get("/jobs/")  # warm the session
    few = queries_for(operator, "/jobs/")
    add_varied_jobs(35, start=5)
    assert Job.objects.count() == 40
    many = queries_for(operator, "/jobs/")
    assert few == many


def test_job_page_queries_do_not_grow_with_the_events(operator):
    small = queue.enqueue("x")
    big = queue.enqueue("x")
    for job, n in ((small, 1), (big, 29)):
        JobEvent.objects.bulk_create(
            [JobEvent(job=job, type="progress", metadata={"progress": i}) for i in range(n)]
        )
    assert JobEvent.objects.filter(job=small).count() == 1
    assert JobEvent.objects.filter(job=big).count() == 29
    operator.get(f"/jobs/{small.pk}/")
    assert queries_for(operator, f"/jobs/{small.pk}/") == queries_for(operator, f"/jobs/{big.pk}/")
