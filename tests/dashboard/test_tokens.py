"""The dashboard's Tokens page: list, filters, countdowns; complete and expire tokens."""

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import queue
from core.durable import tokens
from core.models import Job, JobEvent, WaitToken
from tests.dashboard.conftest import html_reader, strict_html
from tests.records import waiting_job
from tests.users import client_for, make_user, messages_of

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
HTMX_ROW = {"HX-Request": "true"}


@pytest.fixture
def operator():
    return client_for(
        make_user("operator", "view_job", "change_job", "view_waittoken", "change_waittoken")
    )


@pytest.fixture
def viewer():
    return client_for(make_user("viewer", "view_job", "view_waittoken"))


def finished_token(status, output=None, **kwargs) -> WaitToken:
    token = waiting_job(**kwargs)
    if status == "completed":
        tokens.complete_token(token.id, output)
    else:
        tokens.expire_token(token.id)
    return WaitToken.objects.get(pk=token.pk)


def job_of(token) -> Job:
    return Job.objects.get(pk=token.job_id)


html_of = html_reader("/tokens/")


def row_ids(html) -> list[str]:
    return re.findall(r'<tr id="token-([^"]+)" class="token-row"', html)


def snapshot():
    return (
        list(WaitToken.objects.order_by("id").values()),
        list(Job.objects.order_by("id").values()),
        list(JobEvent.objects.order_by("id").values_list("id", "job_id", "type")),
    )


def complete_url(token) -> str:
    return f"/tokens/{token.id}/complete/"


def expire_url(token) -> str:
    return f"/tokens/{token.id}/expire/"


# -- who may see and act ---------------------------------------------------------------


def test_anonymous_users_are_sent_to_the_login(client):
    token = waiting_job()
    for path in ("/tokens/", "/tokens/?status=all"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/?next=/tokens/")
    before = snapshot()
    for url in (complete_url(token), expire_url(token)):
        response = client.post(url, {"data": "1"})
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert snapshot() == before


def test_staff_without_view_waittoken_get_403():
    client = client_for(make_user("jobs-only", "view_job", "change_job"))
    assert client.get("/tokens/").status_code == 403


def test_viewer_sees_tokens_without_forms(viewer):
    token = waiting_job()
    html = html_of(viewer)
    assert row_ids(html) == [token.id]
    assert "<textarea" not in html
    assert "/complete/" not in html
    assert "/expire/" not in html
    assert ">Expire<" not in html


@pytest.mark.parametrize("action", ["complete", "expire"])
def test_viewer_forged_posts_get_403_and_change_nothing(viewer, action):
    token = waiting_job()
    before = snapshot()
    response = viewer.post(f"/tokens/{token.id}/{action}/", {"data": '{"approved": true}'})
    assert response.status_code == 403
    assert snapshot() == before


def test_change_permission_alone_without_view_still_may_act_but_not_see():
    client = client_for(make_user("blind", "change_waittoken"))
    token = waiting_job()
    assert client.get("/tokens/").status_code == 403
    assert client.post(complete_url(token), {"data": "1"}).status_code == 303
    assert WaitToken.objects.get(pk=token.pk).status == "completed"


@pytest.mark.parametrize("action", ["complete", "expire"])
def test_get_on_an_action_url_is_405(operator, action):
    token = waiting_job()
    before = snapshot()
    assert operator.get(f"/tokens/{token.id}/{action}/").status_code == 405
    assert snapshot() == before


@pytest.mark.parametrize("action", ["complete", "expire"])
def test_post_without_csrf_token_is_refused(action):
    user = make_user("csrf-op", "view_waittoken", "change_waittoken")
    client = client_for(user, enforce_csrf_checks=True)
    token = waiting_job()
    before = snapshot()
    response = client.post(f"/tokens/{token.id}/{action}/", {"data": "1"})
    assert response.status_code == 403
    assert snapshot() == before


def test_operator_sees_a_form_per_waiting_token(operator):
    waiting = waiting_job()
    done = finished_token("completed", {"ok": 1})
    html = html_of(operator, "/tokens/?status=all")
    assert html.count("<textarea") == 1
    assert f'action="/tokens/{waiting.id}/complete/"' in html
    assert f'action="/tokens/{waiting.id}/expire/"' in html
    assert f"/tokens/{done.id}/complete/" not in html
    assert "hx-confirm=" in html


def test_nav_has_a_tokens_link_marked_current_on_the_page(operator):
    html = html_of(operator)
    nav = html[html.index('<nav class="mainnav">') : html.index("</nav>")]
    assert re.search(r'<a href="/tokens/" aria-current="page">Tokens</a>', nav)
    assert nav.index(">Jobs<") < nav.index(">Tokens<") < nav.index(">Workers<")
    jobs = html_of(operator, "/jobs/")
    assert '<a href="/tokens/">Tokens</a>' in jobs


def test_page_has_a_strict_script_policy_and_no_inline_scripts(operator):
    waiting_job()
    response = operator.get("/tokens/")
    html = strict_html(response)
    assert "hx-on" not in html


# -- the list ------------------------------------------------------------------------------


@pytest.fixture
def one_per_status():
    return {
        "waiting": waiting_job(),
        "completed": finished_token("completed", {"approved": True}),
        "timed_out": finished_token("timed_out"),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"waiting"}),
        ("?status=waiting", {"waiting"}),
        ("?status=completed", {"completed"}),
        ("?status=timed_out", {"timed_out"}),
        ("?status=all", {"waiting", "completed", "timed_out"}),
        ("?status=bogus", {"waiting"}),
    ],
)
def test_status_filter(operator, one_per_status, query, expected):
    html = html_of(operator, f"/tokens/{query}")
    assert set(row_ids(html)) == {one_per_status[s].id for s in expected}


def test_the_current_filter_tab_is_marked(operator, one_per_status):
    html = html_of(operator, "/tokens/?status=timed_out")
    assert re.search(r'class="tab active" data-status="timed_out"', html)
    assert not re.search(r'class="tab active" data-status="waiting"', html)


def test_empty_list_says_so(operator):
    assert "No waiting tokens." in html_of(operator)
    assert "No timed out tokens." in html_of(operator, "/tokens/?status=timed_out")


def test_newest_first(operator):
    made = [waiting_job() for _ in range(4)]
    assert row_ids(html_of(operator)) == [t.id for t in reversed(made)]


def test_row_shows_short_id_with_full_id_in_title_job_link_type_tags_and_status(operator):
    token = waiting_job("orders.approve", tags=["approval", "eu"])
    html = html_of(operator)
    assert f'<code class="token-id" title="{token.id}">{token.id[:8]}…</code>' in html
    assert f'<a href="/jobs/{token.job_id}/">#{token.job_id}</a> orders.approve' in html
    assert '<span class="tag">approval</span> <span class="tag">eu</span>' in html
    assert '<span class="badge waiting">waiting</span>' in html
    assert "ago" in html  # its age


def test_completed_rows_show_their_data(operator):
    token = finished_token("completed", {"approved": True})
    html = html_of(operator, "/tokens/?status=completed")
    assert row_ids(html) == [token.id]
    assert "&quot;approved&quot;: true" in html


@pytest.mark.parametrize(
    ("timeout_at", "text"),
    [
        (timedelta(seconds=250, milliseconds=900), "in 4m 10s"),
        (timedelta(seconds=-5), "overdue"),
        (None, "no timeout"),
    ],
)
def test_timeout_countdown(operator, timeout_at, text):
    token = waiting_job()
    moment = None if timeout_at is None else timezone.now() + timeout_at
    WaitToken.objects.filter(pk=token.pk).update(timeout_at=moment)
    html = html_of(operator)
    cell = re.search(r'<td class="nowrap countdown"[^>]*>(.*?)</td>', html).group(1)
    assert re.sub(r"<[^>]+>", "", cell) == text


def test_finished_tokens_have_no_countdown(operator):
    finished_token("completed", 1)
    html = html_of(operator, "/tokens/?status=completed")
    cell = re.search(r'<td class="nowrap countdown"[^>]*>(.*?)</td>', html).group(1)
    assert cell == "-"


def test_keyset_pages_walk_every_token_once_without_offset(operator, settings):
    settings.QUEUEADMIN = {**getattr(settings, "QUEUEADMIN", {}), "DASHBOARD_PAGE_SIZE": 3}
    made = [waiting_job() for _ in range(8)]
    # Same created_at for two tokens: the id breaks the tie.
    WaitToken.objects.filter(pk__in=[made[3].pk, made[4].pk]).update(created_at=made[3].created_at)
    expected = [
        t.id for t in WaitToken.objects.order_by("-created_at", "-id").only("id", "created_at")
    ]
    seen, path, pages = [], "/tokens/", 0
    with CaptureQueriesContext(connection) as queries:
        while path:
            response = operator.get(path)
            html = response.content.decode()
            seen += row_ids(html)
            pages += 1
            older = re.search(r'href="([^"]+)" rel="next"', html)
            path = older.group(1).replace("&amp;", "&") if older else None
    assert seen == expected
    assert pages == 3
    assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)


def test_pages_after_the_first_link_back_to_the_newest(operator, settings):
    settings.QUEUEADMIN = {**getattr(settings, "QUEUEADMIN", {}), "DASHBOARD_PAGE_SIZE": 2}
    for _ in range(3):
        waiting_job()
    first = html_of(operator)
    assert 'rel="first"' not in first
    older = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = html_of(operator, older)
    assert len(row_ids(second)) == 1
    assert 'rel="first"' in second
    assert 'rel="next"' not in second


@pytest.mark.parametrize("cursor", ["junk", "2024-01-01|", "|abc", "2024-01-01T00:00:00|x"])
def test_a_bad_cursor_is_ignored(operator, cursor):
    token = waiting_job()
    assert row_ids(html_of(operator, "/tokens/", data={"before": cursor})) == [token.id]


def test_live_fragment_is_only_the_table(operator):
    token = waiting_job()
    response = operator.get(
        "/tokens/?status=all", headers={"HX-Request": "true", "HX-Target": "token-table"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="token-table"')
    assert "<html" not in html
    assert row_ids(html) == [token.id]
    assert 'hx-get="/tokens/?status=all"' in html
    assert "data-live" in html


def test_query_count_does_not_grow_with_the_tokens(operator):
    def count():
        with CaptureQueriesContext(connection) as queries:
            html_of(operator, "/tokens/?status=all")
        return len(queries)

    for _ in range(2):
        waiting_job()
    few = count()
    for i in range(18):
        if i % 3:
            waiting_job(job_type=f"type.{i}")
        else:
            finished_token("completed", {"n": i})
    assert WaitToken.objects.count() == 20
    assert count() == few


# -- completing and expiring -------------------------------------------------------------


def test_completing_with_json_stores_the_data_and_wakes_the_job(operator):
    token = waiting_job()
    response = operator.post(
        complete_url(token), {"data": '{"approved": true, "by": "ann"}', "next": "/tokens/"}
    )
    assert response.status_code == 303
    assert response["Location"] == "/tokens/"
    token = WaitToken.objects.get(pk=token.pk)
    assert token.status == "completed"
    assert token.output == {"approved": True, "by": "ann"}
    assert token.completed_at is not None
    job = job_of(token)
    assert job.status == "pending"
    assert job.wait_token is None
    event = JobEvent.objects.filter(job=job).latest("id")
    assert event.type == "resumed"
    assert event.metadata == {"reason": "token completed", "actor": "operator"}
    follow = operator.get("/tokens/")
    assert messages_of(follow) == [f"Token {token.id[:8]}… completed; job #{job.pk} wakes up."]


def test_completing_with_an_empty_box_sends_null(operator):
    token = waiting_job()
    operator.post(complete_url(token), {"data": "  \n "})
    token = WaitToken.objects.get(pk=token.pk)
    assert token.status == "completed"
    assert token.output is None
    assert job_of(token).status == "pending"


@pytest.mark.parametrize(
    ("data", "expected"), [("42", 42), ('"yes"', "yes"), ('[1, {"a": null}]', [1, {"a": None}])]
)
def test_any_json_value_is_accepted(operator, data, expected):
    token = waiting_job()
    operator.post(complete_url(token), {"data": data})
    assert WaitToken.objects.get(pk=token.pk).output == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ('{"approved": true', "Not valid JSON: Expecting ',' delimiter at line 1, column 18."),
        ('{\n  "a": 1,\n  b: 2\n}', "Not valid JSON: Expecting property name enclosed in double"),
        ("{'a': 1}", "at line 1, column 2."),
        ("yes", "Not valid JSON: Expecting value at line 1, column 1."),
        ('{"a": NaN}', "Not valid JSON: NaN is not allowed."),
        ("[Infinity]", "Not valid JSON: Infinity is not allowed."),
        ("[" * 100_000, "nested too deeply"),
    ],
    ids=["unclosed", "line3", "quotes", "text", "nan", "infinity", "deep"],
)
def test_invalid_json_says_where_and_changes_nothing(operator, data, message):
    token = waiting_job()
    before = snapshot()
    response = operator.post(complete_url(token), {"data": data}, follow=True)
    assert response.status_code == 200
    [text] = messages_of(response)
    assert message in text
    assert text.endswith("Nothing changed.")
    assert snapshot() == before


def test_invalid_json_names_the_line_and_column(operator):
    token = waiting_job()
    response = operator.post(complete_url(token), {"data": '{\n  "a": 1,\n  b: 2\n}'}, follow=True)
    assert "at line 3, column 3." in messages_of(response)[0]


def test_completing_twice_changes_nothing_the_second_time(operator):
    token = waiting_job()
    operator.post(complete_url(token), {"data": "1"}, follow=True)
    before = snapshot()
    response = operator.post(complete_url(token), {"data": "2"}, follow=True)
    assert messages_of(response) == [
        f"Token {token.id[:8]}… is already completed — nothing changed."
    ]
    assert snapshot() == before
    assert WaitToken.objects.get(pk=token.pk).output == 1


@pytest.mark.parametrize("action", ["complete", "expire"])
def test_acting_on_a_timed_out_token_changes_nothing(operator, action):
    token = finished_token("timed_out")
    before = snapshot()
    response = operator.post(f"/tokens/{token.id}/{action}/", {"data": "1"}, follow=True)
    assert messages_of(response) == [
        f"Token {token.id[:8]}… is already timed out — nothing changed."
    ]
    assert snapshot() == before


def test_expire_times_the_token_out_and_wakes_the_job(operator):
    token = waiting_job()
    response = operator.post(expire_url(token))
    assert response.status_code == 303
    assert response["Location"] == "/tokens/"
    token = WaitToken.objects.get(pk=token.pk)
    assert token.status == "timed_out"
    assert token.output is None
    job = job_of(token)
    assert job.status == "pending"
    event = JobEvent.objects.filter(job=job).latest("id")
    assert (event.type, event.metadata) == (
        "resumed",
        {"reason": "token timed out", "actor": "operator"},
    )
    assert messages_of(operator.get("/tokens/")) == [
        f"Token {token.id[:8]}… expired; job #{job.pk} wakes up."
    ]


def test_cancelling_a_job_times_out_its_token_so_completing_it_changes_nothing(operator):
    token = waiting_job()
    queue.cancel_job(token.job_id)
    assert WaitToken.objects.get(pk=token.pk).status == "timed_out"
    response = operator.post(complete_url(token), {"data": "1"}, follow=True)
    assert messages_of(response) == [
        f"Token {token.id[:8]}… is already timed out — nothing changed."
    ]
    assert job_of(token).status == "cancelled"


@pytest.mark.parametrize("action", ["complete", "expire"])
@pytest.mark.parametrize("htmx", [False, True])
def test_unknown_token_is_404(operator, action, htmx):
    waiting_job()
    before = snapshot()
    headers = HTMX_ROW if htmx else {}
    for data in ({"data": "1", "row": "1"}, {"data": "{bad", "row": "1"}):
        response = operator.post(f"/tokens/no-such-token/{action}/", data, headers=headers)
        assert response.status_code == 404
    assert snapshot() == before


def test_an_off_site_next_is_ignored(operator):
    token = waiting_job()
    response = operator.post(complete_url(token), {"data": "1", "next": "https://evil.example/"})
    assert response["Location"] == "/tokens/"


def test_the_job_page_sends_the_operator_back_to_the_job(operator):
    token = waiting_job()
    response = operator.post(complete_url(token), {"data": "1", "next": f"/jobs/{token.job_id}/"})
    assert response["Location"] == f"/jobs/{token.job_id}/"


# -- htmx rows --------------------------------------------------------------------------------


def test_htmx_complete_returns_the_updated_row(operator):
    token = waiting_job()
    response = operator.post(
        complete_url(token), {"data": '{"approved": true}', "row": "1"}, headers=HTMX_ROW
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="token-{token.id}"')
    assert 'data-status="completed"' in html
    assert '<span class="badge pending">pending</span>' in html  # the job woke
    assert "<textarea" not in html
    assert 'role="status"' in html
    assert job_of(token).status == "pending"


def test_htmx_invalid_json_returns_the_row_with_the_error_and_the_text_kept(operator):
    token = waiting_job()
    before = snapshot()
    response = operator.post(
        complete_url(token), {"data": '{"approved": tru}', "row": "1"}, headers=HTMX_ROW
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert">Not valid JSON: Expecting value at line 1, column 14.' in html
    assert "&quot;approved&quot;: tru}</textarea>" in html
    assert 'data-status="waiting"' in html
    assert snapshot() == before


def test_htmx_expire_returns_the_timed_out_row(operator):
    token = waiting_job()
    response = operator.post(expire_url(token), {"row": "1"}, headers=HTMX_ROW)
    html = response.content.decode()
    assert 'data-status="timed_out"' in html
    assert "<textarea" not in html


def test_htmx_post_without_row_asks_for_a_redirect(operator):
    token = waiting_job()
    response = operator.post(
        expire_url(token), {"next": f"/jobs/{token.job_id}/"}, headers=HTMX_ROW
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"/jobs/{token.job_id}/"


# -- hostile content ------------------------------------------------------------------------


@pytest.fixture
def hostile_tokens():
    waiting = waiting_job(HOSTILE, tags=[HOSTILE])
    done = finished_token("completed", {"note": HOSTILE}, tags=[HOSTILE])
    return waiting, done


def test_hostile_tags_and_output_are_escaped_on_the_list(operator, hostile_tokens):
    html = html_of(operator, "/tokens/?status=all")
    assert HOSTILE not in html
    assert f'<span class="tag">{ESCAPED}</span>' in html
    assert ESCAPED in html[html.index('class="token-output"') :]


def test_hostile_content_is_escaped_in_the_row_fragment_and_the_draft(operator, hostile_tokens):
    waiting, _ = hostile_tokens
    response = operator.post(
        complete_url(waiting), {"data": f"</textarea>{HOSTILE}", "row": "1"}, headers=HTMX_ROW
    )
    html = response.content.decode()
    assert HOSTILE not in html
    assert "</textarea><script" not in html
    assert f"&lt;/textarea&gt;{ESCAPED}</textarea>" in html


def test_hostile_content_is_escaped_on_the_job_page(operator, hostile_tokens):
    for token in hostile_tokens:
        html = html_of(operator, f"/jobs/{token.job_id}/")
        assert HOSTILE not in html
        assert f'<span class="tag">{ESCAPED}</span>' in html


# -- the job page -------------------------------------------------------------------------------


def test_job_page_shows_its_tokens_with_the_form_for_a_waiting_one(operator):
    token = waiting_job(tags=["approval"])
    html = html_of(operator, f"/jobs/{token.job_id}/")
    section = html[html.index('id="job-tokens"') :]
    assert f'data-token="{token.id}" data-status="waiting"' in section
    assert '<span class="tag">approval</span>' in section
    assert re.search(r'<td class="countdown"[^>]*>in (59(\.\d)? s|1m 00s)<', section)
    assert f'action="/tokens/{token.id}/complete/"' in section
    assert f'action="/tokens/{token.id}/expire/"' in section
    assert f'name="next" value="/jobs/{token.job_id}/"' in section
    assert 'hx-target="closest tr"' not in section  # the job page reloads, it has no rows to swap


def test_job_page_shows_a_finished_tokens_output_without_a_form(operator):
    token = finished_token("completed", {"approved": True})
    html = html_of(operator, f"/jobs/{token.job_id}/")
    section = html[html.index('id="job-tokens"') :]
    assert 'data-status="completed"' in section
    assert "&quot;approved&quot;: true" in section
    assert "<textarea" not in html


def test_job_page_tokens_are_in_the_live_part(operator):
    token = waiting_job()
    html = html_of(
        operator,
        f"/jobs/{token.job_id}/",
        headers={"HX-Request": "true", "HX-Target": "job-live"},
    )
    assert 'id="job-tokens"' in html
    assert html.lstrip().startswith('<div id="job-live"')


def test_job_page_without_tokens_has_no_token_section(operator):
    job = queue.enqueue("plain")
    assert 'id="job-tokens"' not in html_of(operator, f"/jobs/{job.pk}/")


def test_job_page_shows_tokens_but_no_form_to_a_viewer(viewer):
    token = waiting_job()
    html = html_of(viewer, f"/jobs/{token.job_id}/")
    assert f'data-token="{token.id}"' in html
    assert "/complete/" not in html
    assert "<textarea" not in html


def test_job_page_hides_tokens_from_users_who_may_not_see_them():
    client = client_for(make_user("jobs-only", "view_job", "change_job"))
    token = waiting_job()
    html = html_of(client, f"/jobs/{token.job_id}/")
    assert 'id="job-tokens"' not in html
    assert token.id not in html


def test_job_page_query_count_does_not_grow_with_its_tokens(operator):
    def count(job_id):
        with CaptureQueriesContext(connection) as queries:
            html_of(operator, f"/jobs/{job_id}/")
        return len(queries)

    one = waiting_job()
    many = waiting_job()
    for i in range(6):
        tokens.create_token(many.job_id, timeout=60, tags=[f"t{i}"])
    finished = tokens.create_token(many.job_id)
    tokens.complete_token(finished.id, {"x": 1})
    assert count(one.job_id) == count(many.job_id)
    sleeping = queue.enqueue("plain")  # waiting without a token: the same page, no token
    Job.objects.filter(pk=sleeping.pk).update(status="waiting", wait_until=timezone.now())
    assert count(sleeping.pk) == count(one.job_id)


# -- with a real worker ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_parked_approval_job_finishes_with_the_data_typed_in_the_dashboard(operator):
    from tests.workers import run_burst

    job = queue.enqueue("test.approval", {})
    run_burst()
    token = WaitToken.objects.get(job_id=job.pk)
    assert job_of(token).status == "waiting"
    html = html_of(operator)
    assert row_ids(html) == [token.id]
    operator.post(complete_url(token), {"data": json.dumps({"approved": True})})
    run_burst()
    job = job_of(token)
    assert job.status == "completed"
    assert job.output == {"ok": True, "output": {"approved": True}, "error": None}
