"""The dashboard's Streams page: topics with partitions, end offsets and retained
messages; consumer groups' committed offsets and lag; subscriptions; the guarded
offset reset; and the keyset message browser."""

import html as htmllib
import logging
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import streams
from core.dashboard import access
from core.models import ConsumerOffset, Message, Subscription
from tests.dashboard.conftest import html_reader, strict_html
from tests.users import client_for, make_user, messages_of

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
TOPIC = "orders/eu"
HX = {"HX-Request": "true"}


@pytest.fixture
def viewer():
    return client_for(make_user("viewer", "view_topic", "view_message"))


@pytest.fixture
def operator():
    return client_for(make_user("operator", "view_topic", "view_message", "change_consumeroffset"))


@pytest.fixture
def topic():
    """orders/eu: partition 0 ends at 5, partition 1 at 3; billing has committed 2 and
    3, audit 5 in partition 0 only; subscription "hook" pushes as group mail."""
    streams.create_topic(TOPIC, partitions=2, retention_seconds=3600, retention_messages=100)
    streams.publish_many(
        TOPIC, [{"data": {"n": n}, "key": f"k{n}", "partition": 0} for n in range(5)]
    )
    streams.publish_many(TOPIC, [{"data": {"n": n}, "partition": 1} for n in range(3)])
    streams.commit("billing", TOPIC, 0, 2)
    streams.commit("billing", TOPIC, 1, 3)
    streams.commit("audit", TOPIC, 0, 5)
    Subscription.objects.create(
        name="hook", topic_id=TOPIC, group="mail", endpoint="https://example.com/hook"
    )
    return TOPIC


html_of = html_reader("/streams/")


def attr(value: str) -> str:
    """``value`` as Django escapes it inside an attribute."""
    return htmllib.escape(value, quote=True).replace("&#x27;", "&#x27;")


def section_of(html: str, name: str) -> str:
    start = html.index(f'<section class="topic" data-topic="{attr(name)}">')
    return html[start : html.index("</section>", start)]


def group_row(section: str, group: str) -> str:
    start = section.index(f'<tr class="group-row" data-group="{attr(group)}"')
    return section[start : section.index("</tr>", start)]


def offsets_of(row: str) -> dict[int, tuple[int, int]]:
    """{partition: (committed, lag)} of a group row."""
    cells = re.findall(
        r'class="group-offset[^"]*" data-partition="(\d+)" data-committed="(\d+)" '
        r'data-lag="(\d+)"',
        row,
    )
    return {int(p): (int(c), int(lag)) for p, c, lag in cells}


def partitions_of(section: str) -> dict[int, tuple[int, int]]:
    """{partition: (end, retained)} of a topic section."""
    rows = re.findall(
        r'<tr class="partition-row" data-partition="(\d+)" data-end="(\d+)" '
        r'data-retained="(\d+)"',
        section,
    )
    return {int(p): (int(end), int(kept)) for p, end, kept in rows}


def offsets():
    return sorted(ConsumerOffset.objects.values_list("group", "topic_id", "partition", "offset"))


def reset(client, offset, *, topic=TOPIC, group="billing", partition="0", htmx=False, **extra):
    data = {"topic": topic, "group": group, "partition": partition, "offset": offset, **extra}
    return client.post("/streams/reset/", data, headers=HX if htmx else {})


def messages_url(**params) -> str:
    return "/streams/messages/?" + urlencode(params)


# -- access -------------------------------------------------------------------------------


def pages(name=TOPIC):
    return [
        "/streams/",
        messages_url(topic=name, partition=0),
        "/streams/offsets/?" + urlencode({"topic": name, "group": "billing"}),
    ]


def test_anonymous_users_are_sent_to_the_login(client, topic):
    for path in pages():
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/login/?next=/streams/"), path


def test_an_htmx_fragment_for_an_anonymous_user_redirects_the_whole_tab(client, topic):
    response = client.get("/streams/", headers={**HX, "HX-Target": "stream-topics"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/admin/login/")


def test_staff_without_the_view_permission_get_403(topic):
    nobody = client_for(make_user("nobody", "view_job"))
    for path in pages():
        assert nobody.get(path).status_code == 403, path


def test_view_topic_alone_sees_no_message_links_and_may_not_browse(topic):
    client = client_for(make_user("topics-only", "view_topic"))
    html = html_of(client)
    assert "/streams/messages/" not in html
    assert client.get(messages_url(topic=TOPIC, partition=0)).status_code == 403


def test_a_viewer_sees_no_reset_links_or_forms(viewer, topic):
    html = html_of(viewer)
    assert "/streams/offsets/" not in html
    assert "/streams/reset/" not in html
    assert "Reset offsets" not in html
    assert '<form method="post"' not in html.split("<main>")[1]
    assert viewer.get(pages()[2]).status_code == 403


def test_an_operator_sees_a_reset_link_per_group(operator, topic):
    html = html_of(operator)
    for group in ("audit", "billing", "mail"):
        url = "/streams/offsets/?" + urlencode({"topic": TOPIC, "group": group})
        assert f'href="{attr(url)}"' in html, group


def test_a_forged_reset_by_a_viewer_is_refused_and_changes_nothing(viewer, topic):
    before = offsets()
    assert reset(viewer, "0").status_code == 403
    assert reset(viewer, "0", htmx=True).status_code == 403
    assert offsets() == before


def test_get_on_the_reset_action_is_405(operator, topic):
    before = offsets()
    query = urlencode({"topic": TOPIC, "group": "billing", "partition": 0, "offset": 0})
    assert operator.get(f"/streams/reset/?{query}").status_code == 405
    assert offsets() == before


def test_a_reset_without_the_csrf_token_is_refused(topic):
    user = make_user("csrf-op", "view_topic", "change_consumeroffset")
    client = client_for(user, enforce_csrf_checks=True)
    before = offsets()
    response = reset(client, "0")
    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert offsets() == before
    html_of(client)
    token = client.cookies["csrftoken"].value
    response = reset(client, "0", csrfmiddlewaretoken=token)
    assert response.status_code == 303
    assert streams.committed("billing", TOPIC, 0) == 0


def test_nav_has_a_streams_link_after_cron_marked_current(operator, topic):
    for path in pages():
        html = html_of(operator, path)
        nav = html[html.index('<nav class="mainnav">') : html.index("</nav>")]
        assert '<a href="/streams/" aria-current="page">Streams</a>' in nav, path
        assert nav.index(">Cron<") < nav.index(">Streams<") < nav.index(">Workers<")
    jobs = html_of(client_for(make_user("jobs", "view_job")), "/jobs/")
    assert '<a href="/streams/">Streams</a>' in jobs


def test_pages_have_a_strict_script_policy_and_no_inline_scripts_or_styles(operator, topic):
    responses = [operator.get(path) for path in pages()]
    responses.append(operator.get("/streams/", headers={**HX, "HX-Target": "stream-topics"}))
    responses.append(operator.get(pages()[2], headers=HX))
    for response in responses:
        assert response.status_code == 200
        html = strict_html(response)
        assert " style=" not in html
        assert "hx-on" not in html


# -- topics, partitions, groups, lag ------------------------------------------------------


def test_topics_show_partitions_end_offsets_retention_and_lag_of_two_groups(viewer, topic):
    streams.create_topic("audit-log")  # no messages, no groups
    html = html_of(viewer)
    section = section_of(html, TOPIC)
    assert '<span class="topic-partitions">2 partitions</span>' in section
    assert '<span class="topic-retained">8</span>' in section
    assert '<span class="topic-end">8</span>' in section
    assert "for 1h 00m, newest 100 per partition" in section
    assert partitions_of(section) == {0: (5, 5), 1: (3, 3)}
    assert '<td class="nowrap partition-span">1\u20135</td>' in section

    billing = group_row(section, "billing")
    assert offsets_of(billing) == {0: (2, 3), 1: (3, 0)}
    assert 'data-lag="3"' in billing
    assert '<td class="num group-lag lagging">3</td>' in billing
    audit = group_row(section, "audit")
    assert offsets_of(audit) == {0: (5, 0), 1: (0, 3)}  # nothing committed: lag is the end
    mail = group_row(section, "mail")  # known from its subscription only
    assert offsets_of(mail) == {0: (0, 5), 1: (0, 3)}
    assert "pushed by hook" in mail
    assert section.index('data-group="audit"') < section.index('data-group="billing"')

    empty = section_of(html, "audit-log")
    assert partitions_of(empty) == {0: (0, 0)}
    assert "No consumer group has committed an offset yet." in empty
    assert 'keeps <span class="topic-retention">everything</span>' in empty
    assert html.index('data-topic="audit-log"') < html.index(f'data-topic="{attr(TOPIC)}"')


def test_lag_follows_new_messages_and_commits(viewer, topic):
    streams.publish(TOPIC, {"n": 9}, partition=1)
    streams.commit("billing", TOPIC, 0, 5)
    section = section_of(html_of(viewer), TOPIC)
    assert offsets_of(group_row(section, "billing")) == {0: (5, 0), 1: (3, 1)}
    assert partitions_of(section)[1] == (4, 4)


def test_retention_shows_the_offsets_held_and_flags_messages_a_group_missed(viewer, topic):
    Message.objects.filter(topic_id=TOPIC, partition=0, offset__lte=3).delete()
    Message.objects.filter(topic_id=TOPIC, partition=1).delete()
    section = section_of(html_of(viewer), TOPIC)
    assert partitions_of(section) == {0: (5, 2), 1: (3, 0)}
    assert '<td class="nowrap partition-span">4\u20135</td>' in section
    assert '<span class="topic-retained">2</span>' in section
    billing = group_row(section, "billing")
    # Partition 0: committed 2, offset 3 deleted unread; partition 1: all read.
    assert "1 message deleted by retention before this group read them" in billing
    assert offsets_of(billing) == {0: (2, 3), 1: (3, 0)}
    mail = group_row(section, "mail")
    assert "6 messages deleted by retention before this group read them" in mail


def test_subscriptions_show_state_and_their_last_error_escaped(viewer, topic):
    now = timezone.now()
    long_error = f"HTTP 500: {HOSTILE} " + "x" * 300 + " END"
    Subscription.objects.filter(name="hook").update(
        last_error=long_error, last_error_at=now, last_success_at=now - timedelta(hours=1)
    )
    Subscription.objects.create(
        name=f"paused {HOSTILE}",
        topic_id=TOPIC,
        group="billing",
        endpoint="https://user:s3cret@example.com/in",
        partitions=[1],
        active=False,
        last_success_at=now,
        last_error="timed out",
        last_error_at=now - timedelta(minutes=5),
    )
    html = html_of(viewer)
    section = section_of(html, TOPIC)
    assert HOSTILE not in html
    start = section.index('data-subscription="hook"')
    hook = section[start : section.index("</tr>", start)]
    assert 'data-active="true"' in hook
    assert ">active</span>" in hook
    assert f'title="HTTP 500: {ESCAPED} {"x" * 300} END"' in hook  # the full text on hover
    shown = re.search(r'row-error" title="[^"]*">([^<]*)</span>', hook).group(1)
    assert shown.startswith(f"HTTP 500: {ESCAPED}")
    assert shown.endswith("…")
    assert "ago" in hook
    start = section.index(f'data-subscription="paused {ESCAPED}"')
    paused = section[start : section.index("</tr>", start)]
    assert 'data-active="false"' in paused
    assert ">paused</span>" in paused
    assert "https://user:***@example.com/in" in paused
    assert "s3cret" not in html
    assert '<td class="sub-partitions">1</td>' in paused
    assert "succeeded since" in paused  # an old error, shown muted
    assert "pushed by hook" in group_row(section, "mail")


def test_topics_are_searched_and_paged_by_name(viewer, settings):
    settings.QUEUEADMIN = {"DASHBOARD_PAGE_SIZE": 2}
    for name in ("a/1", "a/2", "b/1", "a/3"):
        streams.create_topic(name)
    html = html_of(viewer)
    assert re.findall(r'<section class="topic" data-topic="([^"]+)"', html) == ["a/1", "a/2"]
    next_url = re.search(r'<a href="([^"]+)" rel="next">', html).group(1)
    assert htmllib.unescape(next_url) == "/streams/?after=a%2F2"
    html = html_of(viewer, htmllib.unescape(next_url))
    assert re.findall(r'data-topic="([^"]+)"', html) == ["a/3", "b/1"]
    assert 'rel="next"' not in html
    assert 'rel="first"' in html
    html = html_of(viewer, "/streams/", {"q": "a/"})
    assert re.findall(r'<section class="topic" data-topic="([^"]+)"', html) == ["a/1", "a/2"]
    html = html_of(viewer, "/streams/", {"q": "zzz"})
    assert "No topic matches “zzz”." in html


def test_the_live_refresh_returns_the_topics_fragment_only(viewer, topic):
    response = viewer.get("/streams/", headers={**HX, "HX-Target": "stream-topics"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="stream-topics"')
    assert "<html" not in html
    assert 'id="stream-panel"' not in html
    assert partitions_of(section_of(html, TOPIC)) == {0: (5, 5), 1: (3, 3)}


def test_hostile_names_keys_and_data_are_escaped_everywhere(operator):
    name = f'{HOSTILE}/"quoted" & #x?y=1'
    group = f"{HOSTILE} group&co"
    streams.create_topic(name)
    streams.publish(name, {"html": HOSTILE, HOSTILE: [1]}, key=HOSTILE)
    streams.commit(group, name, 0, 1)
    Subscription.objects.create(
        name=HOSTILE,
        topic_id=name,
        group=group,
        endpoint="https://example.com/x",
        last_error=HOSTILE,
        last_error_at=timezone.now(),
    )
    html = html_of(operator)
    assert HOSTILE not in html
    assert ESCAPED in html
    assert f'<h2 class="topic-name">{htmllib.escape(name)}</h2>' in html
    # Links carry the names as query values, encoded.
    browse = messages_url(topic=name, partition=0)
    assert f'href="{attr(browse)}"' in html
    panel = "/streams/offsets/?" + urlencode({"topic": name, "group": group})
    assert f'href="{attr(panel)}"' in html

    page = html_of(operator, browse)
    assert HOSTILE not in page
    assert f"<code>{ESCAPED}</code>" in page  # the key
    assert f"&quot;html&quot;: &quot;{ESCAPED}&quot;" in page
    assert f'<input type="hidden" name="topic" value="{attr(name)}">' in page

    panel_html = html_of(operator, panel, headers=HX)
    assert HOSTILE not in panel_html
    assert f'<input type="hidden" name="group" value="{attr(group)}">' in panel_html
    assert f"for group “{attr(group)}”?" in panel_html  # the confirmation, escaped

    response = reset(operator, "0", topic=name, group=group, htmx=True)
    assert HOSTILE not in response.content.decode()
    assert streams.committed(group, name, 0) == 0
    response = reset(operator, "x", topic=HOSTILE, group=HOSTILE, htmx=True)
    assert HOSTILE not in response.content.decode()
    assert ESCAPED in response.content.decode()


# -- the reset ----------------------------------------------------------------------------


def test_the_offsets_panel_lists_every_partition_of_the_group(operator, topic):
    query = {"topic": TOPIC, "group": "billing"}
    html = html_of(operator, "/streams/offsets/", query, headers=HX)
    assert html.lstrip().startswith('<section class="panel offsets-panel"')
    rows = re.findall(
        r'<tr class="offset-row" data-partition="(\d)" data-committed="(\d)" data-lag="(\d)">',
        html,
    )
    assert rows == [("0", "2", "3"), ("1", "3", "0")]
    assert html.count("hx-confirm=") == 6
    assert (
        "Replay partition 0 of “orders/eu” for group “billing”? Its offset goes from 2 to 0, "
        "so its 5 retained messages will be processed again."
    ) in html
    assert "Its offset goes from 2 to 5, so its 3 unprocessed messages will never" in html
    assert '<input type="hidden" name="offset" value="5">' in html
    # Without htmx: the whole page, with the panel open.
    page = html_of(operator, "/streams/offsets/", query)
    assert "<h1>Streams</h1>" in page
    assert 'class="panel offsets-panel"' in page


def test_the_panel_warns_about_an_active_subscription_of_the_group(operator, topic):
    html = html_of(operator, "/streams/offsets/", {"topic": TOPIC, "group": "mail"}, headers=HX)
    assert "Active subscription of this group: “hook”." in html
    html = html_of(operator, "/streams/offsets/", {"topic": TOPIC, "group": "billing"}, headers=HX)
    assert "Active subscription" not in html


@pytest.mark.parametrize(
    "query",
    [
        {"topic": TOPIC, "group": "nobody"},
        {"topic": "missing", "group": "billing"},
        {"topic": TOPIC},
    ],
)
def test_the_panel_of_an_unknown_group_or_topic_is_404(operator, topic, query):
    assert operator.get("/streams/offsets/", query).status_code == 404


def test_a_reset_to_zero_replays_and_is_logged_with_the_user(operator, topic, caplog):
    caplog.set_level(logging.INFO, logger="queueadmin.streams")
    response = reset(operator, "0", next="/streams/?q=orders")
    assert response.status_code == 303
    assert response["Location"] == "/streams/?q=orders"
    assert streams.committed("billing", TOPIC, 0) == 0
    assert streams.committed("billing", TOPIC, 1) == 3
    assert streams.committed("audit", TOPIC, 0) == 5
    follow = operator.get(response["Location"])
    assert messages_of(follow) == ["Group billing on orders/eu[0]: offset set from 2 to 0."]
    assert offsets_of(group_row(section_of(follow.content.decode(), TOPIC), "billing"))[0] == (
        0,
        5,
    )
    records = [r for r in caplog.records if r.name == "queueadmin.streams"]
    assert len(records) == 1
    text = records[0].getMessage()
    assert "topic='orders/eu'" in text
    assert "group='billing'" in text
    assert "partition=0 from=2 to=0 by operator" in text


def test_a_reset_to_the_end_skips_everything(operator, topic):
    response = reset(operator, "3", partition="1", group="mail", htmx=True)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "streams-changed"
    html = response.content.decode()
    assert '<div class="row-notice" role="status" id="offsets-notice">' in html
    assert "Group mail on orders/eu[1]: offset set from 0 to 3." in html
    assert '<tr class="offset-row" data-partition="1" data-committed="3" data-lag="0">' in html
    assert streams.committed("mail", TOPIC, 1) == 3
    assert not ConsumerOffset.objects.filter(group="mail", partition=0).exists()


def test_an_offset_inside_the_partition_is_accepted(operator, topic):
    assert reset(operator, " 4 ").status_code == 303
    assert streams.committed("billing", TOPIC, 0) == 4


def test_a_reset_keeps_the_push_lease(operator, topic):
    until = timezone.now() + timedelta(seconds=30)
    ConsumerOffset.objects.filter(group="billing", partition=0).update(
        locked_by="worker-1", locked_until=until
    )
    html = html_of(operator, "/streams/offsets/", {"topic": TOPIC, "group": "billing"}, headers=HX)
    assert "worker-1" in html
    reset(operator, "1")
    row = ConsumerOffset.objects.get(group="billing", partition=0)
    assert (row.offset, row.locked_by, row.locked_until) == (1, "worker-1", until)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"offset": "6"}, "Offset: 6 is past the end of orders/eu[0] (last offset 5). Nothing"),
        ({"offset": "-1"}, "Offset: must be an integer from 0, got -1. Nothing changed."),
        ({"offset": "abc"}, "Offset: “abc” is not a whole number"),
        ({"offset": ""}, "Offset: “nothing” is not a whole number"),
        ({"offset": "1_000"}, "Offset: “1_000” is not a whole number"),
        ({"offset": "+2"}, "Offset: “+2” is not a whole number"),
        ({"offset": "2.0"}, "Offset: “2.0” is not a whole number"),
        ({"offset": "9" * 30}, "is not a whole number"),
        ({"offset": "99999999999999999999"}, "is past the end of orders/eu[0]"),
        ({"partition": "2"}, "Partition: must be between 0 and 1, got 2. Nothing"),
        ({"partition": "x"}, "Partition: not a number. Nothing changed."),
        ({"group": "nobody"}, "No consumer group “nobody” on topic “orders/eu”. Nothing"),
        ({"group": ""}, "No consumer group “” on topic “orders/eu”."),
        ({"topic": "missing"}, "No topic named “missing”. Nothing changed."),
        ({"topic": "x" * 300}, "No topic named “xxx"),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_a_refused_reset_shows_why_and_writes_nothing(operator, topic, data, error, htmx):
    before = offsets()
    fields = {"offset": "1", **data}
    response = reset(operator, htmx=htmx, **fields)
    assert offsets() == before
    if htmx:
        assert response.status_code == 200
        assert "HX-Trigger" not in response
        html = response.content.decode()
        alert = re.search(r'<div class="error" role="alert" id="offsets-error">([^<]*)</div>', html)
        assert error in htmllib.unescape(alert.group(1))
        assert "offsets-notice" not in html
    else:
        assert response.status_code == 303
        shown = messages_of(operator.get(response["Location"]))
        assert len(shown) == 1, shown
        assert error in shown[0], shown


def test_a_refused_reset_of_a_known_group_shows_the_panel_again(operator, topic):
    html = reset(operator, "6", htmx=True).content.decode()
    assert 'data-group="billing"' in html
    assert '<tr class="offset-row" data-partition="0" data-committed="2" data-lag="3">' in html


def test_a_group_known_only_from_its_subscription_can_be_reset(operator, topic):
    assert not ConsumerOffset.objects.filter(group="mail").exists()
    assert reset(operator, "2", group="mail").status_code == 303
    assert streams.committed("mail", TOPIC, 0) == 2


def test_an_off_site_next_is_ignored(operator, topic):
    response = reset(operator, "0", next="https://evil.example/")
    assert response["Location"] == "/streams/"


# -- messages -----------------------------------------------------------------------------


def rows_of(html) -> list[int]:
    return [int(o) for o in re.findall(r'<tr class="message-row" data-offset="(\d+)">', html)]


def pager(html, rel) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', html)
    return htmllib.unescape(found.group(1)) if found else None


def test_messages_are_paged_by_offset_without_offset_clauses(viewer, settings):
    settings.QUEUEADMIN = {"DASHBOARD_PAGE_SIZE": 3}
    streams.create_topic("log", partitions=2)
    streams.publish_many("log", [{"data": n, "partition": 1} for n in range(8)])
    streams.publish_many("log", [{"data": n, "partition": 0} for n in range(2)])
    path = messages_url(topic="log", partition=1)
    seen = []
    with CaptureQueriesContext(connection) as queries:
        while path:
            html = html_of(viewer, path)
            seen.append(rows_of(html))
            path = pager(html, "next")
    assert seen == [[1, 2, 3], [4, 5, 6], [7, 8]]
    sql = [q["sql"].upper() for q in queries.captured_queries if "MESSAGE" in q["sql"].upper()]
    assert sql
    assert not any(" OFFSET " in s for s in sql)
    assert pager(html, "first") == messages_url(topic="log", partition=1)
    assert rows_of(html_of(viewer, messages_url(topic="log", partition=1, after=6))) == [7, 8]
    assert rows_of(html_of(viewer, messages_url(topic="log", partition=0))) == [1, 2]


def test_messages_newest_first_page_backwards(viewer, settings):
    settings.QUEUEADMIN = {"DASHBOARD_PAGE_SIZE": 3}
    streams.create_topic("log")
    streams.publish_many("log", [{"data": n} for n in range(7)])
    path = messages_url(topic="log", partition=0, order="newest")
    seen = []
    while path:
        html = html_of(viewer, path)
        seen.append(rows_of(html))
        path = pager(html, "next")
    assert seen == [[7, 6, 5], [4, 3, 2], [1]]
    assert 'class="tab active" aria-current="true">Newest first</a>' in html


def test_the_message_page_shows_key_created_and_pretty_json(viewer, topic):
    html = html_of(viewer, messages_url(topic=TOPIC, partition=0))
    assert rows_of(html) == [1, 2, 3, 4, 5]
    assert "<code>k0</code>" in html
    assert '<pre class="message-data">{\n  &quot;n&quot;: 0\n}</pre>' in html
    assert '<strong class="partition-end">5</strong>' in html
    assert 'data-group="audit" data-offset="5"' in html
    assert 'data-group="billing" data-offset="2"' in html
    html = html_of(viewer, messages_url(topic=TOPIC, partition=1))
    assert '<span class="muted">none</span>' in html  # no key


def test_a_huge_message_is_cut_short(viewer):
    streams.publish("big", {"blob": "x" * 30_000})
    html = html_of(viewer, messages_url(topic="big", partition=0))
    assert "more characters not shown" in html


@pytest.mark.parametrize(
    "params",
    [
        {"topic": "missing", "partition": 0},
        {"topic": TOPIC, "partition": 2},
        {"topic": TOPIC, "partition": -1},
        {"topic": TOPIC, "partition": "x"},
    ],
)
def test_an_unknown_topic_or_partition_is_404(viewer, topic, params):
    assert viewer.get(messages_url(**params)).status_code == 404


def test_a_name_holding_nul_is_refused_with_400_and_changes_nothing(operator, viewer, topic):
    before = offsets()
    assert reset(operator, "1", group="bill\x00ing").status_code == 400
    assert reset(operator, "1", topic="orders\x00").status_code == 400
    assert offsets() == before
    query = {"topic": TOPIC, "group": "bill\x00ing"}
    assert operator.get("/streams/offsets/", query).status_code == 400
    assert viewer.get(messages_url(topic="orders\x00", partition=0)).status_code == 400


@pytest.mark.parametrize("after", ["x", "-3", "1e3", "9" * 40])
def test_a_bad_cursor_starts_from_the_beginning(viewer, topic, after):
    html = html_of(viewer, messages_url(topic=TOPIC, partition=0, after=after))
    assert rows_of(html)[:1] == [1]


# -- query counts -------------------------------------------------------------------------


def count_queries(client, path, **kwargs) -> int:
    with CaptureQueriesContext(connection) as queries:
        html_of(client, path, **kwargs)
    return len(queries)


def grow(topics: int, groups: int, partitions: int, prefix: str = "t") -> None:
    for t in range(topics):
        name = f"{prefix}{t}/x"
        streams.create_topic(name, partitions=partitions)
        streams.publish_many(
            name, [{"data": n, "partition": n % partitions} for n in range(partitions * 3)]
        )
        for g in range(groups):
            for p in range(partitions):
                streams.commit(f"g{g}", name, p, 1)
            Subscription.objects.create(
                name=f"{prefix}{t}-{g}", topic_id=name, group=f"push{g}", endpoint="https://e.x/"
            )


def test_the_page_takes_the_same_queries_for_one_topic_or_many(operator):
    grow(1, 1, 1)
    small = count_queries(operator, "/streams/")
    small_fragment = count_queries(
        operator, "/streams/", headers={**HX, "HX-Target": "stream-topics"}
    )
    grow(5, 3, 4, prefix="u")
    html = html_of(operator)
    assert html.count('<tr class="group-row"') == 1 * 2 + 5 * 6
    assert count_queries(operator, "/streams/") == small
    assert (
        count_queries(operator, "/streams/", headers={**HX, "HX-Target": "stream-topics"})
        == small_fragment
    )


def test_the_panel_and_the_message_page_take_fixed_queries(operator, settings):
    settings.QUEUEADMIN = {"DASHBOARD_PAGE_SIZE": 100}
    grow(1, 1, 1)
    panel = "/streams/offsets/?" + urlencode({"topic": "t0/x", "group": "g0"})
    browse = messages_url(topic="t0/x", partition=0)
    before = (count_queries(operator, panel, headers=HX), count_queries(operator, browse))
    streams.create_topic("t0/x", partitions=6)
    streams.publish_many("t0/x", [{"data": n, "partition": n % 6} for n in range(120)])
    for p in range(6):
        streams.commit("g0", "t0/x", p, 2)
        streams.commit("other", "t0/x", p, 1)
    after = (count_queries(operator, panel, headers=HX), count_queries(operator, browse))
    assert after == before


def test_needs_refuses_a_user_missing_any_of_its_permissions(rf):
    view = access.needs("queueadmin.view_topic", "queueadmin.view_message")(
        lambda request: HttpResponse("ok")
    )
    request = rf.get("/")
    request.user = make_user("half", "view_topic")
    with pytest.raises(PermissionDenied, match=r"queueadmin\.view_message"):
        view(request)
    request.user = make_user("both", "view_topic", "view_message")
    assert view(request).content == b"ok"
