"""The dashboard's Queues page: every queue with its counts, running jobs and limits
(pause, resume, edit limits); channel policies (search, pages, add, edit, clear); and
the job page's sentence when a policy holds a job back."""

import re
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import queue
from core.insights.explain import why_not_running
from core.models import ChannelPolicy, Job, Queue
from tests.dashboard.conftest import add_worker, html_reader, strict_html
from tests.records import policy_snapshot
from tests.users import client_for, make_user, messages_of

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
CHANNEL_PERMS = (
    "view_channelpolicy",
    "add_channelpolicy",
    "change_channelpolicy",
    "delete_channelpolicy",
)
HTMX = {"HX-Request": "true"}


@pytest.fixture
def operator():
    return client_for(
        make_user("operator", "view_job", "view_queue", "change_queue", *CHANNEL_PERMS)
    )


@pytest.fixture
def viewer():
    return client_for(make_user("viewer", "view_job", "view_queue", "view_channelpolicy"))


html_of = html_reader("/queues/")


def main_of(html) -> str:
    return html[html.index("<main") :]


def queue_row(html, name) -> str:
    start = html.index('<tr class="queue-row')
    start = html.index(f'data-queue="{name}"', start)
    start = html.rindex("<tr", 0, start)
    return html[start : html.index("</tr>", start)]


def channel_row(html, name) -> str:
    start = html.index(f'<tr class="channel-row" data-channel="{name}"')
    return html[start : html.index("</tr>", start)]


def queue_names(html) -> list[str]:
    return re.findall(r'<tr class="queue-row[^"]*" data-queue="([^"]*)"', html)


def channel_names(html) -> list[str]:
    return re.findall(r'<tr class="channel-row" data-channel="([^"]*)"', html)


def field_error(html, auto_id) -> str | None:
    found = re.search(
        rf'<span class="error field-error" role="alert" id="{auto_id}_error">(.*?)</span>',
        html,
        re.S,
    )
    return found and found.group(1)


def jobs(queue_name="default", n=1, status="pending", channel=None):
    made = [queue.enqueue("test.echo", queue=queue_name, channel=channel) for _ in range(n)]
    if status != "pending":
        Job.objects.filter(pk__in=[j.pk for j in made]).update(status=status)
    return made


# -- who may see and act ----------------------------------------------------------------------

FORMS = ["/queues/limits/?queue=mail", "/queues/channels/new/", "/queues/channels/edit/?channel=c1"]
ACTIONS = [
    ("/queues/pause/", {"name": "mail"}),
    ("/queues/resume/", {"name": "mail"}),
    ("/queues/limits/?queue=mail", {"max_concurrency": "5", "rate_limit": "", "rate_period": "1"}),
    ("/queues/channels/new/", {"name": "c2", "max_concurrency": "1", "release_interval": ""}),
    ("/queues/channels/edit/?channel=c1", {"max_concurrency": "9", "release_interval": ""}),
    ("/queues/channels/clear/", {"name": "c1"}),
]


@pytest.fixture
def policies_exist():
    queue.set_queue_policy("mail", max_concurrency=2)
    queue.set_channel_policy("c1", max_concurrency=1)


def test_anonymous_users_are_sent_to_the_login(client, policies_exist):
    for path in ["/queues/", *FORMS]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/login/?next=")
    before = policy_snapshot()
    for path, data in ACTIONS:
        response = client.post(path, data)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/login/")
    assert policy_snapshot() == before


def test_anonymous_htmx_refresh_sends_the_tab_to_the_login(client):
    for target in ("queue-table", "channel-table"):
        response = client.get("/queues/", headers={**HTMX, "HX-Target": target})
        assert response.status_code == 204
        assert response["HX-Redirect"].startswith("/admin/login/")


def test_staff_without_view_queue_get_403(policies_exist):
    client = client_for(make_user("jobs-only", "view_job", "change_job", *CHANNEL_PERMS))
    assert client.get("/queues/").status_code == 403
    for path in FORMS:
        assert client.get(path).status_code == 403, path


def test_non_staff_are_sent_to_the_login(policies_exist):
    client = client_for(make_user("outsider", "view_queue", "change_queue", is_staff=False))
    assert client.get("/queues/").status_code == 302
    before = policy_snapshot()
    assert client.post("/queues/pause/", {"name": "mail"}).status_code == 302
    assert policy_snapshot() == before


def test_viewer_sees_queues_and_channels_without_buttons_or_forms(viewer, policies_exist):
    jobs("mail")
    html = main_of(html_of(viewer))
    assert queue_names(html) == ["mail"]
    assert channel_names(html) == ["c1"]
    for fragment in ("/queues/pause/", "/queues/resume/", "/queues/limits/", "/queues/channels/"):
        assert fragment not in html, fragment
    assert "<th>Actions</th>" not in html
    # The only form is the channel search (a GET).
    assert re.findall(r"<form[^>]*>", html) == [
        '<form method="get" action="/queues/" class="channel-search" role="search">'
    ]


@pytest.mark.parametrize(("path", "data"), ACTIONS)
def test_viewer_forged_posts_get_403_and_change_nothing(viewer, policies_exist, path, data):
    before = policy_snapshot()
    assert viewer.post(path, data).status_code == 403
    assert viewer.post(path, data, headers=HTMX).status_code == 403
    assert policy_snapshot() == before


@pytest.mark.parametrize("path", FORMS)
def test_viewer_cannot_open_the_forms(viewer, policies_exist, path):
    assert viewer.get(path).status_code == 403


@pytest.mark.parametrize("path", ["/queues/pause/", "/queues/resume/", "/queues/channels/clear/"])
def test_get_on_an_action_url_is_405(operator, policies_exist, path):
    before = policy_snapshot()
    assert operator.get(path, {"name": "mail"}).status_code == 405
    assert operator.get(path, {"name": "c1"}).status_code == 405
    assert policy_snapshot() == before


def test_views_write_nothing_on_get(operator, policies_exist):
    before = policy_snapshot()
    for path in ["/queues/", *FORMS, "/queues/limits/?queue=brand-new"]:
        assert operator.get(path).status_code == 200, path
        assert operator.get(path, headers=HTMX).status_code == 200, path
    assert policy_snapshot() == before


@pytest.mark.parametrize(("path", "data"), ACTIONS)
def test_post_without_csrf_token_is_refused(policies_exist, path, data):
    user = make_user("csrf-op", "view_queue", "change_queue", *CHANNEL_PERMS)
    client = client_for(user, enforce_csrf_checks=True)
    before = policy_snapshot()
    assert client.post(path, data).status_code == 403
    assert policy_snapshot() == before


def test_without_view_channelpolicy_the_channel_section_is_hidden(policies_exist):
    client = client_for(make_user("queues-only", "view_queue", "change_queue"))
    html = main_of(html_of(client))
    assert "/queues/pause/" in html
    assert 'id="channel-table"' not in html
    assert "Channels" not in html
    response = client.get("/queues/", headers={**HTMX, "HX-Target": "channel-table"})
    assert response.status_code == 403
    for path in FORMS[1:]:
        assert client.get(path).status_code == 403


def test_channel_forms_need_view_channelpolicy_too(policies_exist):
    client = client_for(
        make_user("blind", "view_queue", "add_channelpolicy", "change_channelpolicy")
    )
    before = policy_snapshot()
    for path, data in ACTIONS[3:5]:
        assert client.get(path).status_code == 403
        assert client.post(path, data).status_code == 403
    assert policy_snapshot() == before


def test_channel_buttons_follow_their_own_permissions(policies_exist):
    adder = client_for(make_user("adder", "view_queue", "view_channelpolicy", "add_channelpolicy"))
    html = main_of(html_of(adder))
    assert 'href="/queues/channels/new/"' in html
    assert "/queues/channels/edit/" not in html
    assert "/queues/channels/clear/" not in html
    assert "/queues/pause/" not in html  # no change_queue
    before = policy_snapshot()
    assert adder.post(*ACTIONS[4]).status_code == 403
    assert adder.post(*ACTIONS[5]).status_code == 403
    assert policy_snapshot() == before

    deleter = client_for(
        make_user("deleter", "view_queue", "view_channelpolicy", "delete_channelpolicy")
    )
    html = main_of(html_of(deleter))
    assert "/queues/channels/clear/" in html
    assert "/queues/channels/new/" not in html
    assert "/queues/channels/edit/" not in html
    assert deleter.post("/queues/channels/clear/", {"name": "c1"}).status_code == 303
    assert not ChannelPolicy.objects.exists()


def test_nav_has_a_queues_link_after_jobs_marked_current(operator, policies_exist):
    for path in ("/queues/", *FORMS):
        html = html_of(operator, path)
        nav = html[html.index('<nav class="mainnav">') : html.index("</nav>")]
        assert '<a href="/queues/" aria-current="page">Queues</a>' in nav, path
        assert nav.index(">Jobs<") < nav.index(">Queues<") < nav.index(">Tokens<")
    jobs_page = html_of(client_for(make_user("jobs", "view_job")), "/jobs/")
    assert '<a href="/queues/">Queues</a>' in jobs_page


@pytest.mark.parametrize("path", ["/queues/", *FORMS])
def test_pages_have_a_strict_script_policy_and_no_inline_scripts(operator, policies_exist, path):
    response = operator.get(path)
    html = strict_html(response)
    assert " style=" not in html
    assert "hx-on" not in html


# -- the queue table --------------------------------------------------------------------------


def test_empty_page_says_so(operator):
    html = html_of(operator)
    assert "No queues yet" in html
    assert "No channel policies yet." in html


def test_every_queue_with_jobs_or_a_policy_is_listed_by_name(operator):
    jobs("reports")
    jobs("mail", status="completed")
    queue.pause_queue("archive")  # a policy, no job
    queue.set_queue_policy("zeta", rate_limit=3)
    assert queue_names(html_of(operator)) == ["archive", "mail", "reports", "zeta"]


def test_row_shows_counts_per_status_running_and_limits(operator):
    jobs("mail", 3)
    jobs("mail", 2, status="processing")
    jobs("mail", 1, status="failed")
    jobs("other", 4, status="processing")
    queue.set_queue_policy("mail", max_concurrency=2, rate_limit=10, rate_period=60)
    now = time.time()
    Queue.objects.filter(name="mail").update(recent_starts=[now - 120, now - 30, now - 5])
    row = queue_row(html_of(operator), "mail")
    assert 'data-status="pending"><a href="/jobs/?queue=mail&amp;status=pending">3</a></td>' in row
    assert 'data-status="processing"><a href="/jobs/?queue=mail&amp;status=processing">2</a>' in row
    assert 'data-status="failed"><a href="/jobs/?queue=mail&amp;status=failed">1</a>' in row
    assert 'data-status="completed"><a href="/jobs/?queue=mail&amp;status=completed">0</a>' in row
    assert '<td class="nowrap queue-running at-limit">2 / 2</td>' in row
    assert '<td class="nowrap queue-rate">2 / 10 per 60 s</td>' in row
    assert "queue-paused" not in row
    other = queue_row(html_of(operator), "other")
    assert '<td class="nowrap queue-running">4 / <span class="muted">no limit</span></td>' in other
    assert '<td class="nowrap queue-rate"><span class="muted">no limit</span></td>' in other


def test_a_rate_limit_used_up_is_flagged(operator):
    queue.set_queue_policy("mail", rate_limit=2, rate_period=10)
    now = time.time()
    Queue.objects.filter(name="mail").update(recent_starts=[now - 3, now - 1])
    row = queue_row(html_of(operator), "mail")
    assert '<td class="nowrap queue-rate at-limit">2 / 2 per 10 s</td>' in row


def test_a_paused_queue_has_a_badge_and_a_resume_button(operator):
    jobs("mail")
    queue.pause_queue("mail")
    row = queue_row(html_of(operator), "mail")
    assert 'data-paused="true"' in row
    assert '<span class="badge cancelled queue-paused">paused</span>' in row
    assert 'action="/queues/resume/"' in row
    assert "/queues/pause/" not in row
    assert 'href="/queues/limits/?queue=mail"' in row


def test_the_tables_refresh_themselves_as_htmx_fragments(operator, policies_exist):
    html = html_of(operator, headers={**HTMX, "HX-Target": "queue-table"})
    assert html.lstrip().startswith('<div id="queue-table"')
    assert 'hx-trigger="live, queues-changed from:body"' in html
    assert "data-live" in html
    assert "<html" not in html
    assert queue_names(html) == ["mail"]
    assert 'id="channel-table"' not in html
    html = html_of(operator, "/queues/?q=c", headers={**HTMX, "HX-Target": "channel-table"})
    assert html.lstrip().startswith('<div id="channel-table" hx-get="/queues/?q=c"')
    assert channel_names(html) == ["c1"]
    assert 'id="queue-table"' not in html
    assert "<html" not in html


def test_query_count_does_not_grow_with_queues_or_channels(operator, settings):
    settings.QUEUEADMIN = {"DASHBOARD_PAGE_SIZE": 50}

    def count(**kwargs):
        with CaptureQueriesContext(connection) as queries:
            html_of(operator, **kwargs)
        return len(queries)

    def populate(start, stop):
        for i in range(start, stop):
            jobs(f"q{i}", channel=f"c{i}")
            jobs(f"q{i}", status="processing", channel=f"c{i}")
            queue.set_queue_policy(f"q{i}", max_concurrency=3)
            queue.set_channel_policy(f"c{i}", release_interval=2)

    populate(0, 2)
    two = (
        count(),
        count(headers={**HTMX, "HX-Target": "queue-table"}),
        count(headers={**HTMX, "HX-Target": "channel-table"}),
    )
    populate(2, 12)
    many = (
        count(),
        count(headers={**HTMX, "HX-Target": "queue-table"}),
        count(headers={**HTMX, "HX-Target": "channel-table"}),
    )
    assert two == many
    assert len(queue_names(html_of(operator))) == 12


def test_running_counts_come_from_the_status_table_not_a_query_of_their_own(operator):
    jobs("mail", 2, status="processing")
    queue.set_queue_policy("mail", max_concurrency=3)
    with CaptureQueriesContext(connection) as queries:
        html = html_of(operator, headers={**HTMX, "HX-Target": "queue-table"})
    assert '<td class="nowrap queue-running">2 / 3</td>' in queue_row(html, "mail")
    sql = [q["sql"] for q in queries]
    assert not [s for s in sql if "\"status\" = 'processing'" in s and "GROUP BY" in s]


# -- pause and resume -------------------------------------------------------------------------


def test_pause_and_resume_without_javascript(operator):
    jobs("mail")
    response = operator.post("/queues/pause/", {"name": "mail", "next": "/queues/?q=x"})
    assert response.status_code == 303
    assert response["Location"] == "/queues/?q=x"
    assert Queue.objects.get(name="mail").paused
    response = operator.get(response["Location"])
    assert messages_of(response) == ["Queue mail paused: running jobs finish, no new job starts."]
    response = operator.post("/queues/resume/", {"name": "mail"}, follow=True)
    assert messages_of(response) == ["Queue mail resumed."]
    assert not Queue.objects.get(name="mail").paused


def test_pause_keeps_the_limits(operator):
    queue.set_queue_policy("mail", max_concurrency=4, rate_limit=5)
    operator.post("/queues/pause/", {"name": "mail"})
    row = Queue.objects.get(name="mail")
    assert (row.paused, row.max_concurrency, row.rate_limit) == (True, 4, 5)


def test_htmx_pause_answers_with_the_updated_row(operator):
    jobs("mail", 2)
    response = operator.post("/queues/pause/", {"name": "mail", "row": "1"}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode().strip()
    assert html.startswith('<tr class="queue-row paused" data-queue="mail" data-paused="true">')
    assert "Queue mail paused" in html
    assert 'action="/queues/resume/"' in html
    assert 'data-status="pending"><a href="/jobs/?queue=mail&amp;status=pending">2</a>' in html
    response = operator.post("/queues/resume/", {"name": "mail", "row": "1"}, headers=HTMX)
    assert 'data-paused="false"' in response.content.decode()


def test_pausing_a_queue_with_an_invalid_name_says_why_and_writes_nothing(operator):
    Job.objects.create(job_type="x", queue="bad name", run_at=timezone.now())
    response = operator.post("/queues/pause/", {"name": "bad name"}, follow=True)
    [message] = messages_of(response)
    assert message.startswith("Queue 'bad name' cannot be paused: queue: ")
    assert not Queue.objects.exists()


def test_pause_actions_are_logged_with_the_user(operator, caplog):
    caplog.set_level("INFO", logger="queueadmin.queue")
    operator.post("/queues/pause/", {"name": "mail"})
    assert any("mail paused by=operator" in r.getMessage() for r in caplog.records)


# -- limits -----------------------------------------------------------------------------------


def test_the_limits_form_shows_the_current_values(operator):
    queue.set_queue_policy("mail", max_concurrency=3, rate_limit=20, rate_period=60)
    html = html_of(operator, "/queues/limits/?queue=mail", headers=HTMX)
    assert html.lstrip().startswith('<form method="post" action="/queues/limits/?queue=mail"')
    assert 'name="max_concurrency" value="3"' in html
    assert 'name="rate_limit" value="20"' in html
    assert 'name="rate_period" value="60.0"' in html
    # Without JavaScript the form opens inside the whole page.
    full = html_of(operator, "/queues/limits/?queue=mail")
    panel = full[full.index('<div id="queue-panel"') :]
    assert panel.index('id="queue-limits"') < panel.index('id="queue-table"')


def test_a_queue_without_a_row_starts_from_no_limits(operator):
    jobs("mail")
    html = html_of(operator, "/queues/limits/?queue=mail", headers=HTMX)
    assert re.search(r'<input type="number" name="max_concurrency" placeholder="no limit"', html)
    assert 'name="rate_period" value="1.0"' in html


def test_save_limits_without_javascript(operator):
    queue.pause_queue("mail")
    data = {"max_concurrency": "4", "rate_limit": "100", "rate_period": "60"}
    response = operator.post("/queues/limits/?queue=mail", data)
    assert response.status_code == 303
    assert response["Location"] == "/queues/"
    row = Queue.objects.get(name="mail")
    assert (row.max_concurrency, row.rate_limit, row.rate_period, row.paused) == (4, 100, 60, True)
    response = operator.get("/queues/")
    assert messages_of(response) == [
        "Queue mail saved: max concurrency 4, rate limit 100 per 60 s."
    ]


def test_save_limits_with_htmx_shows_a_notice_and_refreshes_the_table(operator):
    data = {"max_concurrency": "2", "rate_limit": "", "rate_period": "1"}
    response = operator.post("/queues/limits/?queue=mail", data, headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "queues-changed"
    html = response.content.decode()
    assert "Queue mail saved: max concurrency 2, no rate limit." in html
    assert 'data-dismiss="#queue-panel"' in html
    assert Queue.objects.get(name="mail").max_concurrency == 2


def test_empty_limits_clear_them_and_only_changes_are_written(operator, caplog):
    queue.set_queue_policy("mail", max_concurrency=2, rate_limit=5, rate_period=10)
    caplog.set_level("INFO", logger="queueadmin.queue")
    caplog.clear()
    data = {"max_concurrency": "", "rate_limit": "5", "rate_period": "10"}
    operator.post("/queues/limits/?queue=mail", data)
    row = Queue.objects.get(name="mail")
    assert (row.max_concurrency, row.rate_limit, row.rate_period) == (None, 5, 10)
    [line] = [r.getMessage() for r in caplog.records if r.name == "queueadmin.queue"]
    assert line.endswith("by=operator: max_concurrency=None")


def test_unchanged_limits_write_nothing(operator):
    queue.set_queue_policy("mail", max_concurrency=2)
    before = policy_snapshot()
    data = {"max_concurrency": "2", "rate_limit": "", "rate_period": "1"}
    response = operator.post("/queues/limits/?queue=mail", data, follow=True)
    assert messages_of(response) == ["Queue mail: nothing changed."]
    assert policy_snapshot() == before


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        (
            {"max_concurrency": "0"},
            "max_concurrency",
            "Must be at least 1; leave empty for no limit.",
        ),
        ({"max_concurrency": "-3"}, "max_concurrency", "Must be at least 1"),
        ({"max_concurrency": "two"}, "max_concurrency", "Enter a whole number"),
        ({"max_concurrency": "1.5"}, "max_concurrency", "Enter a whole number"),
        ({"max_concurrency": "9999999999"}, "max_concurrency", "Must be at most 2,147,483,647."),
        ({"rate_limit": "0"}, "rate_limit", "Must be at least 1"),
        ({"rate_period": "0"}, "rate_period", "Must be more than 0 and at most 86400 seconds"),
        ({"rate_period": "-1"}, "rate_period", "Must be more than 0"),
        ({"rate_period": "86401"}, "rate_period", "at most 86400 seconds"),
        ({"rate_period": "inf"}, "rate_period", ""),
        ({"rate_period": ""}, "rate_period", "This field is required."),
    ],
)
def test_bad_limits_are_explained_beside_the_field_and_nothing_is_saved(
    operator, data, field, error
):
    queue.set_queue_policy("mail", max_concurrency=7)
    before = policy_snapshot()
    form = {"max_concurrency": "3", "rate_limit": "", "rate_period": "1", **data}
    for headers in ({}, HTMX):
        response = operator.post("/queues/limits/?queue=mail", form, headers=headers)
        assert response.status_code == 200
        html = response.content.decode()
        message = field_error(html, f"limits-{field}")
        assert message is not None, html
        assert error in message
        # The typed values come back for correction.
        assert f'name="{field}" value="{form[field]}"' in html or form[field] == ""
    assert policy_snapshot() == before


def test_limits_of_an_invalid_queue_name_are_404(operator):
    assert operator.get("/queues/limits/?queue=bad%20name").status_code == 404
    assert operator.get("/queues/limits/").status_code == 404
    data = {"max_concurrency": "1", "rate_limit": "", "rate_period": "1"}
    assert operator.post("/queues/limits/?queue=bad%20name", data).status_code == 404
    assert not Queue.objects.exists()


# -- channels ---------------------------------------------------------------------------------


def test_channel_row_shows_running_interval_last_start_and_pending(operator):
    jobs("mail", 3, channel="acme")
    jobs("other", 1, channel="acme")
    jobs("mail", 2, status="processing", channel="acme")
    jobs("mail", 5, channel="globex")
    queue.set_channel_policy("acme", max_concurrency=2, release_interval=30)
    ChannelPolicy.objects.filter(name="acme").update(
        last_started_at=timezone.now() - timedelta(seconds=10)
    )
    queue.set_channel_policy("initech", release_interval=0.5)
    html = html_of(operator)
    assert channel_names(html) == ["acme", "initech"]  # globex has no policy
    row = channel_row(html, "acme")
    assert '<td class="nowrap channel-running at-limit">2 / 2</td>' in row
    assert '<td class="nowrap channel-interval">30 s</td>' in row
    assert re.search(r'<span title="[^"]+">(10|10\.\d) s ago</span>', row), row
    assert re.search(r'<span class="muted channel-next">next start in (20|19\.\d) s</span>', row)
    assert '<td class="num channel-pending">4</td>' in row
    row = channel_row(html, "initech")
    assert '<td class="nowrap channel-running">0 / <span class="muted">no limit</span></td>' in row
    assert '<td class="nowrap channel-interval">0.5 s</td>' in row
    assert '<span class="muted">never</span>' in row
    assert '<td class="num channel-pending">0</td>' in row


def test_channel_search_finds_names_containing_the_text(operator):
    for name in ("acme-eu", "acme-us", "globex", "ACME-ASIA"):
        queue.set_channel_policy(name, max_concurrency=1)
    assert channel_names(html_of(operator, "/queues/?q=acme")) == [
        "ACME-ASIA",
        "acme-eu",
        "acme-us",
    ]
    assert channel_names(html_of(operator, "/queues/?q=glob")) == ["globex"]
    html = html_of(operator, "/queues/?q=nothing")
    assert channel_names(html) == []
    assert "No channel policy matches “nothing”." in html
    assert 'id="channel-q" value="nothing"' in html


def test_channels_are_keyset_paginated_by_name(operator, settings):
    settings.QUEUEADMIN = {"DASHBOARD_PAGE_SIZE": 2}
    for name in ("e", "a", "d", "c", "b"):
        queue.set_channel_policy(f"ch-{name}", max_concurrency=1)
    queue.set_channel_policy("other", max_concurrency=1)
    html = html_of(operator, "/queues/?q=ch-")
    assert channel_names(html) == ["ch-a", "ch-b"]
    assert 'rel="first"' not in html
    [next_url] = re.findall(
        r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#channel-table"[^>]* rel="next"', html
    )
    assert next_url == "/queues/?q=ch-&amp;after=ch-b"
    html = html_of(operator, next_url.replace("&amp;", "&"))
    assert channel_names(html) == ["ch-c", "ch-d"]
    assert '<a href="/queues/?q=ch-" ' in html
    assert 'rel="first"' in html
    html = html_of(operator, "/queues/?q=ch-&after=ch-d")
    assert channel_names(html) == ["ch-e"]
    assert 'rel="next"' not in html
    # A channel added before the cursor does not shift the next page.
    queue.set_channel_policy("ch-aa", max_concurrency=1)
    assert channel_names(html_of(operator, "/queues/?q=ch-&after=ch-b")) == ["ch-c", "ch-d"]


def test_pending_counts_take_one_query_for_the_page(operator, settings):
    for i in range(5):
        queue.set_channel_policy(f"c{i}", max_concurrency=1)
        jobs("mail", i, channel=f"c{i}")
    with CaptureQueriesContext(connection) as queries:
        html = html_of(operator, headers={**HTMX, "HX-Target": "channel-table"})
    pending = [
        q for q in queries.captured_queries if "GROUP BY" in q["sql"] and "channel" in q["sql"]
    ]
    assert len(pending) == 2  # running (channel_usage) and pending, whatever the page size
    assert [
        re.search(r'channel-pending">(\d+)<', channel_row(html, f"c{i}")).group(1) for i in range(5)
    ] == [
        "0",
        "1",
        "2",
        "3",
        "4",
    ]


def test_pending_counts_that_run_out_of_time_say_so(operator, postgres_only, monkeypatch):
    from core.drivers import get_driver

    queue.set_channel_policy("acme", max_concurrency=1)
    jobs("mail", 2, channel="acme")
    monkeypatch.setattr(type(get_driver()), "run_within", lambda self, seconds, query: None)
    row = channel_row(html_of(operator), "acme")
    assert '<span class="muted" title="counting took too long">…</span>' in row


def test_add_a_channel_policy_without_javascript(operator):
    html = html_of(operator, "/queues/channels/new/")
    assert 'id="channel-form"' in html
    assert 'name="name"' in html
    data = {"name": "acme", "max_concurrency": "2", "release_interval": "1.5"}
    response = operator.post("/queues/channels/new/", data)
    assert response.status_code == 303
    row = ChannelPolicy.objects.get(name="acme")
    assert (row.max_concurrency, row.release_interval) == (2, 1.5)
    assert messages_of(operator.get("/queues/")) == [
        "Channel acme saved: max concurrency 2, release interval 1.5 s."
    ]


def test_add_a_channel_policy_with_htmx(operator):
    html = html_of(operator, "/queues/channels/new/", headers=HTMX)
    assert html.lstrip().startswith('<form method="post" action="/queues/channels/new/"')
    data = {"name": "acme", "max_concurrency": "", "release_interval": "60"}
    response = operator.post("/queues/channels/new/", data, headers=HTMX)
    assert response["HX-Trigger"] == "channels-changed"
    assert (
        "Channel acme saved: no concurrency limit, release interval 60 s."
        in response.content.decode()
    )
    assert ChannelPolicy.objects.get(name="acme").release_interval == 60


@pytest.mark.parametrize(
    ("data", "auto_id", "error"),
    [
        ({"name": "bad name"}, "channel-name", "may hold only letters, digits"),
        ({"name": ""}, "channel-name", "This field is required."),
        ({"name": "x" * 201}, "channel-name", "at most 200 characters"),
        ({"max_concurrency": "0"}, "channel-max_concurrency", "Must be at least 1"),
        ({"max_concurrency": "x"}, "channel-max_concurrency", "Enter a whole number"),
        ({"release_interval": "0"}, "channel-release_interval", "Must be more than 0"),
        ({"release_interval": "100000"}, "channel-release_interval", "at most 86400 seconds"),
        ({"name": "taken"}, "channel-name", "This channel has a policy already: edit it instead."),
    ],
)
def test_bad_channel_policies_are_explained_and_nothing_is_saved(operator, data, auto_id, error):
    queue.set_channel_policy("taken", max_concurrency=5)
    before = policy_snapshot()
    form = {"name": "acme", "max_concurrency": "1", "release_interval": "", **data}
    for headers in ({}, HTMX):
        response = operator.post("/queues/channels/new/", form, headers=headers)
        assert response.status_code == 200
        message = field_error(response.content.decode(), auto_id)
        assert message is not None
        assert error in message
    assert policy_snapshot() == before


def test_a_channel_policy_needs_a_limit(operator):
    data = {"name": "acme", "max_concurrency": "", "release_interval": ""}
    response = operator.post("/queues/channels/new/", data)
    assert response.status_code == 200
    assert "Set a max concurrency, a release interval or both" in response.content.decode()
    assert not ChannelPolicy.objects.exists()


def test_edit_a_channel_policy(operator):
    queue.set_channel_policy("acme", max_concurrency=2, release_interval=5)
    started = timezone.now() - timedelta(seconds=1)
    ChannelPolicy.objects.filter(name="acme").update(last_started_at=started)
    html = html_of(operator, "/queues/channels/edit/?channel=acme", headers=HTMX)
    assert 'name="name"' not in html  # the name is fixed
    assert 'name="max_concurrency" value="2"' in html
    assert 'name="release_interval" value="5.0"' in html
    data = {"max_concurrency": "3", "release_interval": ""}
    response = operator.post("/queues/channels/edit/?channel=acme", data)
    assert response.status_code == 303
    row = ChannelPolicy.objects.get(name="acme")
    assert (row.max_concurrency, row.release_interval, row.last_started_at) == (3, None, started)
    before = policy_snapshot()
    bad = operator.post(
        "/queues/channels/edit/?channel=acme", {"max_concurrency": "", "release_interval": ""}
    )
    assert "Set a max concurrency, a release interval or both" in bad.content.decode()
    assert policy_snapshot() == before


def test_edit_of_a_channel_without_policy_is_404(operator):
    assert operator.get("/queues/channels/edit/?channel=nobody").status_code == 404
    assert operator.get("/queues/channels/edit/").status_code == 404
    data = {"max_concurrency": "1", "release_interval": ""}
    assert operator.post("/queues/channels/edit/?channel=nobody", data).status_code == 404
    assert not ChannelPolicy.objects.exists()


def test_clear_a_channel_policy(operator):
    queue.set_channel_policy("acme", max_concurrency=1)
    queue.set_channel_policy("globex", max_concurrency=1)
    html = channel_row(html_of(operator), "acme")
    assert (
        'hx-confirm="Clear the policy of channel “acme”? Its jobs will run without limits."' in html
    )
    response = operator.post("/queues/channels/clear/", {"name": "acme", "next": "/queues/?q=a"})
    assert response.status_code == 303
    assert response["Location"] == "/queues/?q=a"
    assert messages_of(operator.get("/queues/")) == [
        "Channel acme: policy cleared; its jobs run without limits."
    ]
    response = operator.post(
        "/queues/channels/clear/", {"name": "globex", "row": "1"}, headers=HTMX
    )
    html = response.content.decode().strip()
    assert html.startswith('<tr class="channel-row cleared" data-channel="globex">')
    assert not ChannelPolicy.objects.exists()
    assert operator.post("/queues/channels/clear/", {"name": "globex"}).status_code == 404


# -- hostile names ----------------------------------------------------------------------------


def test_hostile_names_are_escaped(operator):
    Job.objects.create(job_type="x", queue=HOSTILE, channel=HOSTILE, run_at=timezone.now())
    ChannelPolicy.objects.create(name=HOSTILE, max_concurrency=1)
    ChannelPolicy.objects.create(name='a"b&c', release_interval=1)
    html = main_of(html_of(operator))
    assert HOSTILE not in html
    assert ESCAPED in html
    assert 'data-queue="&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert "/queues/channels/edit/?channel=%3Cscript%3Ealert%281%29%3C/script%3E" in html
    assert 'data-channel="a&quot;b&amp;c"' in html
    assert "?channel=a%22b%26c" in html
    # A policy written around the API can still be cleared, and the notice is escaped.
    response = operator.post("/queues/channels/clear/", {"name": HOSTILE, "row": "1"}, headers=HTMX)
    assert HOSTILE not in response.content.decode()
    assert not ChannelPolicy.objects.filter(name=HOSTILE).exists()
    # The search echo is escaped too.
    html = html_of(operator, "/queues/", data={"q": HOSTILE})
    assert HOSTILE not in main_of(html)


# -- why is a job not running -----------------------------------------------------------------


@pytest.fixture
def due_job():
    add_worker(queues=["mail"])
    return queue.enqueue("email.send", queue="mail", channel="acme")


def test_why_queue_paused(due_job):
    queue.pause_queue("mail")
    assert why_not_running(due_job) == (
        "Its queue “mail” is paused: no job of it starts until the queue is resumed."
    )


def test_why_queue_at_its_concurrency_limit(due_job):
    queue.set_queue_policy("mail", max_concurrency=2)
    jobs("mail", 2, status="processing")
    assert why_not_running(due_job) == (
        "Its queue “mail” is at its concurrency limit: 2 of 2 jobs running; "
        "one must finish before another starts."
    )


def test_why_queue_rate_limit_reached(due_job):
    queue.set_queue_policy("mail", rate_limit=3, rate_period=60)
    now = time.time()
    Queue.objects.filter(name="mail").update(recent_starts=[now - 50, now - 20, now - 2])
    sentence = why_not_running(due_job)
    assert sentence.startswith(
        "Its queue “mail” reached its rate limit: 3 starts in the last 1m 00s "
        "(limit 3 per 1m 00s); the next start is possible in "
    )
    assert re.search(r"in (10|9\.\d) s\.$", sentence), sentence


def test_why_channel_at_its_concurrency_limit(due_job):
    queue.set_channel_policy("acme", max_concurrency=1)
    jobs("other", 1, status="processing", channel="acme")
    assert why_not_running(due_job) == (
        "Its channel “acme” is at its concurrency limit: 1 of 1 jobs running; "
        "one must finish before another starts."
    )


def test_why_channel_release_interval(due_job):
    queue.set_channel_policy("acme", release_interval=30)
    ChannelPolicy.objects.filter(name="acme").update(
        last_started_at=timezone.now() - timedelta(seconds=10)
    )
    sentence = why_not_running(due_job)
    assert sentence.startswith(
        "Its channel “acme” waits out its release interval of 30 s between starts: "
        "the next start is possible in "
    )
    assert re.search(r"in (20|19\.\d) s\.$", sentence), sentence


def test_policies_that_do_not_hold_the_job_leave_the_usual_sentence(due_job):
    queue.set_queue_policy("mail", max_concurrency=5, rate_limit=10)
    queue.set_channel_policy("acme", max_concurrency=2, release_interval=1)
    ChannelPolicy.objects.filter(name="acme").update(
        last_started_at=timezone.now() - timedelta(seconds=5)
    )
    jobs("mail", 1, status="processing", channel="acme")
    assert (
        why_not_running(due_job) == "It is due and waiting for a free worker: it is next in line."
    )


def test_the_queue_reason_comes_before_the_channel_reason(due_job):
    queue.pause_queue("mail")
    queue.set_channel_policy("acme", max_concurrency=1)
    jobs("other", 1, status="processing", channel="acme")
    assert "queue “mail” is paused" in why_not_running(due_job)


def test_scheduled_and_no_worker_reasons_come_first():
    queue.pause_queue("mail")
    later = queue.enqueue("email.send", queue="mail", run_at=timezone.now() + timedelta(hours=1))
    assert why_not_running(later).startswith("It is scheduled for ")
    due = queue.enqueue("email.send", queue="mail")
    assert why_not_running(due).startswith("No live worker serves the queue “mail”")


def test_the_job_page_shows_the_policy_sentence(operator, due_job):
    queue.pause_queue("mail")
    html = html_of(operator, f"/jobs/{due_job.pk}/")
    assert '<p class="why" id="job-why">Its queue “mail” is paused' in html


def test_the_job_page_query_count_does_not_depend_on_the_policies(operator, due_job):
    def count():
        with CaptureQueriesContext(connection) as queries:
            html_of(operator, f"/jobs/{due_job.pk}/")
        return len(queries)

    plain = count()
    queue.set_queue_policy("mail", max_concurrency=50, rate_limit=100)
    queue.set_channel_policy("acme", max_concurrency=50, release_interval=1)
    jobs("mail", 10, status="processing", channel="acme")
    Queue.objects.filter(name="mail").update(recent_starts=[time.time()] * 20)
    assert count() == plain
    queue.pause_queue("mail")
    assert count() <= plain
