"""The dashboard's Cron page: list schedules with their next runs; create, edit, pause,
resume, run now and remove them."""

import json
import re
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import CronSchedule, Job
from core.scheduling import cron
from tests.dashboard.conftest import html_reader, strict_html
from tests.records import cron_form, schedule
from tests.users import client_for, make_user, messages_of

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
ACTIONS = ("pause", "resume", "run", "remove")


@pytest.fixture
def operator():
    return client_for(
        make_user(
            "operator",
            "view_job",
            "add_job",  # creating, editing and running schedules enqueues jobs
            "view_cronschedule",
            "add_cronschedule",
            "change_cronschedule",
            "delete_cronschedule",
        )
    )


@pytest.fixture
def viewer():
    return client_for(make_user("viewer", "view_job", "view_cronschedule"))


html_of = html_reader("/cron/")


def row_of(html, pk) -> str:
    start = html.index(f'<tr id="cron-{pk}"')
    return html[start : html.index("</tr>", start)]


def row_ids(html) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="cron-(\d+)" class="cron-row"', html)]


def field_errors(html, field) -> list[str]:
    """The inline errors printed beside ``field`` on the create/edit form."""
    start = html.index(f'id="field-{field}"')
    block = html[start : html.index("</p>", start)]
    span = rf'<span class="error field-error" role="alert" id="id_{field}_error">(.*?)</span>'
    return re.findall(span, block, re.S)


def snapshot():
    return (
        list(CronSchedule.objects.order_by("id").values()),
        list(Job.objects.order_by("id").values_list("id", "job_type", "status")),
    )


def edit_data(s: CronSchedule, **overrides) -> dict:
    """What the edit form posts back untouched, with ``overrides``."""
    options = s.options
    data = {
        "expression": s.expression,
        "timezone": s.timezone,
        "job_type": s.job_type,
        "payload": "" if s.payload is None else json.dumps(s.payload),
        "queue": options.get("queue", "default"),
        "priority": str(options.get("priority", 0)),
        "tags": ", ".join(options.get("tags", [])),
        "timeout": "" if options.get("timeout") is None else str(options["timeout"]),
        "max_attempts": str(options.get("max_attempts", 3)),
    }
    if s.allow_overlap:
        data["allow_overlap"] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# -- who may see and act ----------------------------------------------------------------------


def test_anonymous_users_are_sent_to_the_login(client):
    s = schedule()
    for path in ("/cron/", "/cron/new/", f"/cron/{s.pk}/edit/", "/cron/preview/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(f"/admin/login/?next={path}")
    before = snapshot()
    for action in ACTIONS:
        response = client.post(f"/cron/{s.pk}/{action}/")
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    client.post("/cron/new/", cron_form())
    client.post(f"/cron/{s.pk}/edit/", edit_data(s, expression="* * * * *"))
    assert snapshot() == before


def test_anonymous_htmx_refresh_sends_the_tab_to_the_login(client):
    response = client.get("/cron/", headers={"HX-Request": "true", "HX-Target": "cron-table"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/admin/login/")


def test_staff_without_view_cronschedule_get_403():
    client = client_for(make_user("jobs-only", "view_job", "change_job"))
    assert client.get("/cron/").status_code == 403


def test_viewer_sees_schedules_without_action_buttons(viewer):
    s = schedule()
    html = html_of(viewer)
    assert row_ids(html) == [s.pk]
    for fragment in ("/pause/", "/resume/", "/run/", "/remove/", "/edit/", "/cron/new/"):
        assert fragment not in html, fragment
    assert "<form" not in html[html.index("<main") :]
    assert "<th>Actions</th>" not in html


@pytest.mark.parametrize("action", ACTIONS)
def test_viewer_forged_posts_get_403_and_change_nothing(viewer, action):
    s = schedule()
    if action == "resume":
        cron.pause_cron(s.name)
    before = snapshot()
    assert viewer.post(f"/cron/{s.pk}/{action}/").status_code == 403
    assert snapshot() == before


def test_viewer_cannot_open_or_post_the_forms(viewer):
    s = schedule()
    before = snapshot()
    assert viewer.get("/cron/new/").status_code == 403
    assert viewer.post("/cron/new/", cron_form()).status_code == 403
    assert viewer.get(f"/cron/{s.pk}/edit/").status_code == 403
    assert viewer.post(f"/cron/{s.pk}/edit/", edit_data(s, expression="* * * * *")).status_code == (
        403
    )
    assert snapshot() == before


def test_change_without_delete_or_add_sees_no_remove_or_new_button():
    client = client_for(make_user("changer", "view_cronschedule", "change_cronschedule", "add_job"))
    s = schedule()
    html = html_of(client)
    assert f"/cron/{s.pk}/pause/" in html
    assert f"/cron/{s.pk}/run/" in html
    assert f"/cron/{s.pk}/edit/" in html
    assert "/remove/" not in html
    assert "/cron/new/" not in html
    before = snapshot()
    assert client.post(f"/cron/{s.pk}/remove/").status_code == 403
    assert client.post("/cron/new/", cron_form()).status_code == 403
    assert snapshot() == before


def test_delete_alone_may_remove_but_not_pause():
    client = client_for(make_user("deleter", "view_cronschedule", "delete_cronschedule"))
    s = schedule()
    html = html_of(client)
    assert f"/cron/{s.pk}/remove/" in html
    assert "/pause/" not in html
    assert client.post(f"/cron/{s.pk}/pause/").status_code == 403
    assert client.post(f"/cron/{s.pk}/remove/").status_code == 303
    assert not CronSchedule.objects.exists()


@pytest.mark.parametrize("action", ACTIONS)
def test_get_on_an_action_url_is_405(operator, action):
    s = schedule()
    before = snapshot()
    assert operator.get(f"/cron/{s.pk}/{action}/").status_code == 405
    assert snapshot() == before


@pytest.mark.parametrize("path", [*(f"{{pk}}/{a}/" for a in ACTIONS), "{pk}/edit/", "new/"])
def test_post_without_csrf_token_is_refused(path):
    user = make_user("csrf-op", "view_cronschedule", "add_cronschedule", "change_cronschedule")
    user.user_permissions.add(Permission.objects.get(codename="delete_cronschedule"))
    client = client_for(user, enforce_csrf_checks=True)
    s = schedule()
    before = snapshot()
    data = cron_form(name="other", expression="* * * * *")
    response = client.post("/cron/" + path.format(pk=s.pk), data)
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("action", ACTIONS)
def test_unknown_schedule_is_404(operator, action):
    schedule()
    before = snapshot()
    assert operator.post(f"/cron/999999/{action}/").status_code == 404
    assert operator.get("/cron/999999/edit/").status_code == 404
    assert snapshot() == before


def test_nav_has_a_cron_link_marked_current_on_its_pages(operator):
    s = schedule()
    for path in ("/cron/", "/cron/new/", f"/cron/{s.pk}/edit/"):
        html = html_of(operator, path)
        nav = html[html.index('<nav class="mainnav">') : html.index("</nav>")]
        assert '<a href="/cron/" aria-current="page">Cron</a>' in nav, path
        assert nav.index(">Tokens<") < nav.index(">Cron<") < nav.index(">Workers<")
    jobs = html_of(client_for(make_user("jobs", "view_job")), "/jobs/")
    assert '<a href="/cron/">Cron</a>' in jobs


@pytest.mark.parametrize("path", ["/cron/", "/cron/new/", "edit"])
def test_pages_have_a_strict_script_policy_and_no_inline_scripts(operator, path):
    s = schedule(payload={"note": HOSTILE})
    response = operator.get(f"/cron/{s.pk}/edit/" if path == "edit" else path)
    html = strict_html(response)
    assert " style=" not in html
    assert "hx-on" not in html


# -- the list ---------------------------------------------------------------------------------


def test_empty_list_says_so_and_offers_to_create(operator, viewer):
    assert "No schedules yet." in html_of(operator)
    assert 'href="/cron/new/"' in html_of(operator)
    assert "/cron/new/" not in html_of(viewer)


def test_rows_are_sorted_by_name(operator):
    b, a, c = schedule("b"), schedule("a"), schedule("c")
    assert row_ids(html_of(operator)) == [a.pk, b.pk, c.pk]


def test_row_shows_expression_words_zone_status_job_and_overlap(operator):
    s = schedule(
        "weekday-report",
        "30 1 * * 1-5",
        "reports.build",
        payload={"kind": "daily"},
        timezone="Europe/London",
        queue="reports",
    )
    row = row_of(html_of(operator), s.pk)
    assert '<code class="cron-expression">30 1 * * 1-5</code>' in row
    assert '<span class="cron-words">At 01:30, Monday through Friday</span>' in row
    assert '<td class="nowrap cron-zone">Europe/London</td>' in row
    assert '<span class="badge completed">active</span>' in row
    assert 'data-name="weekday-report" data-status="active"' in row
    assert "reports.build" in row
    assert "reports" in row
    assert "&quot;kind&quot;: &quot;daily&quot;" in row
    assert "<td>no</td>" in row  # overlap not allowed (the default)
    assert '<span class="muted">never</span>' in row  # never ran


def test_overlap_allowed_is_shown(operator):
    s = schedule(allow_overlap=True)
    assert "<td>allowed</td>" in row_of(html_of(operator), s.pk)


def fire_cells(row) -> list[tuple[str, str]]:
    return re.findall(r'<time datetime="([^"]+)" title="[^"]*">([^<]+)</time>', row)


def test_the_next_five_runs_are_listed_in_the_schedules_zone_with_its_offset(operator):
    s = schedule("india", "30 1 * * *", timezone="Asia/Kolkata")
    zone = ZoneInfo("Asia/Kolkata")
    now = timezone.now().astimezone(zone)
    first = now.replace(hour=1, minute=30, second=0, microsecond=0)
    if first <= now:
        first += timedelta(days=1)
    expected = [first + timedelta(days=i) for i in range(5)]
    cells = fire_cells(row_of(html_of(operator), s.pk))
    assert [text for _, text in cells] == [f"{d:%Y-%m-%d} 01:30 IST" for d in expected]
    assert [iso for iso, _ in cells] == [d.isoformat() for d in expected]
    assert all(iso.endswith("+05:30") for iso, _ in cells)
    assert 'title="UTC+05:30"' in row_of(html_of(operator), s.pk)


def test_every_five_minutes_lists_five_consecutive_slots(operator):
    s = schedule("five", "*/5 * * * *")
    before = timezone.now()
    cells = fire_cells(row_of(html_of(operator), s.pk))
    moments = [datetime.fromisoformat(iso) for iso, _ in cells]
    assert len(moments) == 5
    assert all(m.minute % 5 == 0 and m.tzinfo is not None for m in moments)
    assert all(b - a == timedelta(minutes=5) for a, b in pairwise(moments))
    assert all(text.endswith(" UTC") for _, text in cells)
    assert before < moments[0] <= before + timedelta(minutes=5)


def test_daylight_saving_zones_show_their_abbreviation(operator):
    s = schedule("london", "0 12 * * *", timezone="Europe/London")
    cells = fire_cells(row_of(html_of(operator), s.pk))
    assert len(cells) == 5
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d 12:00 (GMT|BST)", text) for _, text in cells)


def test_a_paused_schedule_shows_its_runs_as_if_resumed_and_a_resume_button(operator):
    s = schedule()
    cron.pause_cron(s.name)
    row = row_of(html_of(operator), s.pk)
    assert '<span class="badge cancelled">paused</span>' in row
    assert "if resumed:" in row
    assert len(fire_cells(row)) == 5
    assert f'action="/cron/{s.pk}/resume/"' in row
    assert "/pause/" not in row


def test_last_run_links_to_its_job_with_its_status(operator):
    s = schedule()
    job = cron.run_cron_now(s.name)
    Job.objects.filter(pk=job.pk).update(status="completed")
    row = row_of(html_of(operator), s.pk)
    link = f'<a href="/jobs/{job.pk}/">#{job.pk}</a> <span class="badge completed">completed</span>'
    assert link in row
    assert "ago" in row


def test_a_deleted_last_job_is_said_so(operator):
    s = schedule()
    job = cron.run_cron_now(s.name)
    Job.objects.filter(pk=job.pk).delete()
    row = row_of(html_of(operator), s.pk)
    assert "job deleted" in row
    assert "ago" in row


def test_skipped_count_is_shown(operator):
    s = schedule()
    CronSchedule.objects.filter(pk=s.pk).update(skipped=7, last_skipped_at=timezone.now())
    row = row_of(html_of(operator), s.pk)
    assert re.search(r'<td class="num" title="last skipped [^"]+">7</td>', row)


def test_an_overdue_active_schedule_is_flagged(operator):
    s = schedule()
    past = timezone.now() - timedelta(minutes=10)
    CronSchedule.objects.filter(pk=s.pk).update(next_run_at=past)
    assert "cron-overdue" in row_of(html_of(operator), s.pk)
    cron.pause_cron(s.name)
    assert "cron-overdue" not in row_of(html_of(operator), s.pk)


def test_a_schedule_that_cannot_be_computed_says_why_instead_of_failing(operator):
    s = schedule()
    CronSchedule.objects.filter(pk=s.pk).update(timezone="Gone/Away")
    row = row_of(html_of(operator), s.pk)
    assert "Unknown time zone &#x27;Gone/Away&#x27;" in row
    CronSchedule.objects.filter(pk=s.pk).update(timezone="UTC", expression="0 0 31 2 *")
    assert "never fires" in row_of(html_of(operator), s.pk)


def test_the_table_refreshes_itself_as_an_htmx_fragment(operator):
    s = schedule()
    html = html_of(operator, headers={"HX-Request": "true", "HX-Target": "cron-table"})
    assert html.lstrip().startswith('<div id="cron-table"')
    assert 'hx-trigger="live"' in html
    assert "data-live" in html
    assert row_ids(html) == [s.pk]
    assert "<html" not in html
    full = html_of(operator)
    assert '<div id="cron-table" hx-get="/cron/" hx-trigger="live"' in full


def test_query_count_does_not_grow_with_the_schedules(operator):
    def count():
        with CaptureQueriesContext(connection) as queries:
            html_of(operator)
        return len(queries)

    for i in range(2):
        cron.run_cron_now(schedule(f"s{i}").name)
    two = count()
    for i in range(2, 10):
        cron.run_cron_now(schedule(f"s{i}", timezone="Europe/Paris").name)
    assert CronSchedule.objects.count() == 10
    assert count() == two


def test_the_list_never_loads_the_last_jobs_payload(operator):
    s = schedule()
    cron.run_cron_now(s.name)
    with CaptureQueriesContext(connection) as queries:
        html_of(operator)
    [sql] = [q["sql"] for q in queries.captured_queries if "queueadmin_cronschedule" in q["sql"]]
    job_columns = re.findall(r'"queueadmin_job"\."(\w+)"', sql)
    assert set(job_columns) <= {"id", "job_type", "status"}


# -- create -----------------------------------------------------------------------------------


def test_the_new_form_has_every_field_with_defaults(operator):
    html = html_of(operator, "/cron/new/")
    for name in (
        "name",
        "expression",
        "timezone",
        "job_type",
        "payload",
        "queue",
        "priority",
        "tags",
        "timeout",
        "max_attempts",
        "allow_overlap",
    ):
        assert f'name="{name}"' in html, name
    assert 'name="timezone" value="UTC"' in html
    assert 'name="queue" value="default"' in html
    assert '<datalist id="cron-zones">' in html
    assert '<option value="Europe/London">' in html


def test_create_valid_schedule(operator):
    before = timezone.now()
    response = operator.post(
        "/cron/new/",
        cron_form(
            name="nightly report",
            expression=" 30  1 * * 1-5 ",
            timezone="Europe/London",
            job_type="reports.build",
            payload='{"kind": "daily"}',
            queue="reports",
            priority="5",
            tags="eu, nightly, eu",
            timeout="120",
            allow_overlap="on",
        ),
    )
    assert response.status_code == 303
    assert response["Location"] == "/cron/"
    s = CronSchedule.objects.get()
    assert (s.name, s.expression, s.timezone, s.job_type) == (
        "nightly report",
        "30 1 * * 1-5",
        "Europe/London",
        "reports.build",
    )
    assert s.payload == {"kind": "daily"}
    assert s.allow_overlap is True
    assert s.status == "active"
    assert s.next_run_at > before
    assert s.next_run_at == cron.fire_times(s.expression, s.timezone, before, 1)[0]
    # Options the operator left at their defaults follow the settings later.
    assert s.options == {
        "queue": "reports",
        "priority": 5,
        "tags": ["eu", "nightly"],
        "timeout": 120,
    }
    [message] = messages_of(operator.get("/cron/"))
    assert message.startswith("Schedule nightly report created; next run ")
    assert re.search(r"next run \d{4}-\d\d-\d\d 01:30 (GMT|BST)\.$", message)


def test_create_with_defaults_stores_no_options(operator):
    response = operator.post("/cron/new/", cron_form())
    assert response.status_code == 303
    s = CronSchedule.objects.get()
    assert s.options == {}
    assert s.payload is None
    assert s.allow_overlap is False


@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        ({"expression": "every day"}, "expression", "Not a valid cron expression: &#x27;every day"),
        ({"expression": "61 * * * *"}, "expression", "Not a valid cron expression"),
        ({"expression": "* * * * * *"}, "expression", "Needs exactly five fields"),
        ({"expression": "0 0 31 2 *"}, "expression", "never fires"),
        ({"expression": ""}, "expression", "This field is required."),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Unknown time zone &#x27;Mars/Olympus"),
        ({"timezone": "../../etc/passwd"}, "timezone", "Unknown time zone"),
        ({"payload": '{"a": 1'}, "payload", "Not valid JSON: Expecting &#x27;,&#x27; delimiter"),
        ({"payload": "[NaN]"}, "payload", "Not valid JSON: NaN is not allowed."),
        ({"payload": "[" * 100_000}, "payload", "nested too deeply"),
        ({"priority": "500"}, "priority", "less than or equal to 100"),
        ({"priority": "high"}, "priority", "Enter a whole number."),
        ({"queue": "a b"}, "queue", "may hold only letters"),
        ({"timeout": "0"}, "timeout", "Must be more than zero seconds"),
        ({"timeout": "inf"}, "timeout", "&quot;inf&quot; is not a duration"),
        ({"max_attempts": "0"}, "max_attempts", "greater than or equal to 1"),
        ({"job_type": ""}, "job_type", "This field is required."),
        ({"name": "   "}, "name", "This field is required."),
        ({"name": "x" * 201}, "name", "at most 200 characters"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_create_invalid_shows_the_error_beside_its_field_and_writes_nothing(
    operator, overrides, field, error
):
    before = snapshot()
    response = operator.post("/cron/new/", cron_form(**overrides))
    assert response.status_code == 200
    html = response.content.decode()
    errors = field_errors(html, field)
    assert any(error in e for e in errors), errors
    assert snapshot() == before
    assert not response.context["messages"]


def test_every_bad_field_is_reported_at_once(operator):
    response = operator.post(
        "/cron/new/", cron_form(expression="bogus", timezone="Nowhere/Land", payload="{")
    )
    html = response.content.decode()
    assert field_errors(html, "expression")
    assert field_errors(html, "timezone") == ["Unknown time zone &#x27;Nowhere/Land&#x27;."]
    assert field_errors(html, "payload")
    assert not CronSchedule.objects.exists()


def test_create_keeps_what_was_typed_after_an_error(operator):
    response = operator.post(
        "/cron/new/",
        cron_form(name="kept", expression="bogus", payload='{"a": 1}', queue="reports"),
    )
    html = response.content.decode()
    assert 'name="name" value="kept"' in html
    assert 'name="expression" value="bogus"' in html
    assert 'name="queue" value="reports"' in html
    assert "{&quot;a&quot;: 1}</textarea>" in html
    assert 'aria-invalid="true"' in html


def test_create_duplicate_name_is_a_name_error(operator):
    schedule("nightly")
    before = snapshot()
    response = operator.post("/cron/new/", cron_form(name="nightly"))
    assert response.status_code == 200
    errors = field_errors(response.content.decode(), "name")
    assert errors == ["A schedule named &#x27;nightly&#x27; exists already"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("message", "field", "shown"),
    [
        ("expression: not a valid cron expression: 'x'", "expression", "Not a valid cron"),
        ("timezone: unknown time zone 'x'", "timezone", "Unknown time zone &#x27;x&#x27;"),
        ("name: a schedule named 'x' exists already", "name", "A schedule named"),
        ("payload: must be JSON-serialisable (boom)", "payload", "Must be JSON-serialisable"),
        ("max_attempts: must be between 1 and 1000", "max_attempts", "Must be between 1"),
    ],
)
def test_api_errors_are_shown_beside_the_field_they_name(
    operator, monkeypatch, message, field, shown
):
    def refuse(*args, **kwargs):
        raise cron.InvalidScheduleError(message)

    monkeypatch.setattr(cron, "add_cron", refuse)
    html = operator.post("/cron/new/", cron_form()).content.decode()
    assert any(shown in e for e in field_errors(html, field))
    assert 'id="cron-form-errors"' not in html


@pytest.mark.parametrize(
    "message",
    ["a schedule's job cannot set run_at", "unknown option x; options: a, b", "options: odd"],
)
def test_an_api_error_without_a_form_field_goes_above_the_form(operator, monkeypatch, message):
    def refuse(*args, **kwargs):
        raise cron.InvalidScheduleError(message)

    monkeypatch.setattr(cron, "add_cron", refuse)
    response = operator.post("/cron/new/", cron_form())
    html = response.content.decode()
    assert 'id="cron-form-errors"' in html
    assert (message[:1].upper() + message[1:]).replace("'", "&#x27;") in html
    assert not CronSchedule.objects.exists()


# -- edit -------------------------------------------------------------------------------------


def test_edit_form_shows_the_current_values_and_a_fixed_name(operator):
    s = schedule(
        "nightly",
        "30 1 * * *",
        payload={"kind": "daily"},
        timezone="Europe/London",
        queue="reports",
        priority=7,
        tags=["eu", "x"],
        timeout=30,
        allow_overlap=True,
    )
    html = html_of(operator, f"/cron/{s.pk}/edit/")
    assert 'name="name"' not in html
    assert '<h1>Edit schedule <span class="cron-name">nightly</span></h1>' in html
    assert 'name="expression" value="30 1 * * *"' in html
    assert 'name="timezone" value="Europe/London"' in html
    assert 'name="queue" value="reports"' in html
    assert 'name="priority" value="7"' in html
    assert 'name="tags" value="eu, x"' in html
    assert 'name="timeout" value="30"' in html
    assert 'name="max_attempts" value="3"' in html
    assert re.search(r'name="allow_overlap"[^>]* checked', html)
    assert "&quot;kind&quot;: &quot;daily&quot;" in html


def test_edit_changes_the_expression_and_recomputes_the_next_run(operator):
    s = schedule("nightly", "30 1 * * *", retry_delay=5.0, queue="reports")
    before = timezone.now()
    response = operator.post(f"/cron/{s.pk}/edit/", edit_data(s, expression="*/10 * * * *"))
    assert response.status_code == 303
    assert response["Location"] == "/cron/"
    s = CronSchedule.objects.get(pk=s.pk)
    assert s.expression == "*/10 * * * *"
    assert s.next_run_at == cron.fire_times("*/10 * * * *", "UTC", before, 1)[0]
    assert s.next_run_at - before <= timedelta(minutes=10)
    assert s.options["retry_delay"] == 5.0  # options the form does not show are kept
    assert s.options["queue"] == "reports"
    [message] = messages_of(operator.get("/cron/"))
    assert message.startswith("Schedule nightly saved; next run ")


def test_edit_the_job_template(operator):
    s = schedule(timeout=30)
    response = operator.post(
        f"/cron/{s.pk}/edit/",
        edit_data(
            s,
            timezone="Asia/Tokyo",
            job_type="reports.other",
            payload='{"x": [1, 2]}',
            queue="q2",
            priority="-3",
            tags="a, b",
            timeout="",
            max_attempts="9",
            allow_overlap="on",
        ),
    )
    assert response.status_code == 303
    s = CronSchedule.objects.get(pk=s.pk)
    assert (s.timezone, s.job_type, s.payload, s.allow_overlap) == (
        "Asia/Tokyo",
        "reports.other",
        {"x": [1, 2]},
        True,
    )
    assert s.options["queue"] == "q2"
    assert s.options["priority"] == -3
    assert s.options["tags"] == ["a", "b"]
    assert s.options["max_attempts"] == 9
    assert s.options.get("timeout") is None
    job = cron.run_cron_now(s.name)
    assert (job.job_type, job.queue, job.priority, job.max_attempts, job.timeout) == (
        "reports.other",
        "q2",
        -3,
        9,
        None,
    )


def test_edit_without_changes_says_so(operator):
    s = schedule()
    before = snapshot()
    response = operator.post(f"/cron/{s.pk}/edit/", edit_data(s), follow=True)
    assert messages_of(response) == ["Schedule nightly: nothing changed."]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        ({"expression": "nope"}, "expression", "Not a valid cron expression"),
        ({"expression": "0 0 30 2 *"}, "expression", "never fires"),
        ({"timezone": "Nowhere/Land"}, "timezone", "Unknown time zone"),
        ({"payload": "{bad"}, "payload", "Not valid JSON"),
        ({"queue": "bad queue"}, "queue", "may hold only letters"),
        ({"tags": "ok, " + "t" * 101}, "tags", "at most 100 characters"),
    ],
)
def test_edit_invalid_shows_the_error_beside_its_field_and_changes_nothing(
    operator, overrides, field, error
):
    s = schedule()
    before = snapshot()
    response = operator.post(f"/cron/{s.pk}/edit/", edit_data(s, **overrides))
    assert response.status_code == 200
    assert any(error in e for e in field_errors(response.content.decode(), field))
    assert snapshot() == before


def test_editing_a_paused_schedule_keeps_it_paused(operator):
    s = schedule()
    cron.pause_cron(s.name)
    response = operator.post(f"/cron/{s.pk}/edit/", edit_data(s, expression="0 * * * *"))
    assert response.status_code == 303
    s = CronSchedule.objects.get(pk=s.pk)
    assert (s.status, s.expression) == ("paused", "0 * * * *")
    assert messages_of(operator.get("/cron/")) == ["Schedule nightly saved; it is paused."]


# -- actions ----------------------------------------------------------------------------------


def test_pause_and_resume(operator):
    s = schedule("five", "*/5 * * * *")
    response = operator.post(f"/cron/{s.pk}/pause/")
    assert response.status_code == 303
    assert response["Location"] == "/cron/"
    assert CronSchedule.objects.get(pk=s.pk).status == "paused"
    assert messages_of(operator.get("/cron/")) == ["Schedule five paused."]

    CronSchedule.objects.filter(pk=s.pk).update(next_run_at=timezone.now() - timedelta(days=1))
    before = timezone.now()
    operator.post(f"/cron/{s.pk}/resume/")
    s = CronSchedule.objects.get(pk=s.pk)
    assert s.status == "active"
    assert s.next_run_at > before  # missed fire times are not caught up
    [message] = messages_of(operator.get("/cron/"))
    pattern = r"Schedule five resumed; next run \d{4}-\d\d-\d\d \d\d:\d[05] UTC\."
    assert re.fullmatch(pattern, message)


def test_pausing_a_paused_schedule_changes_nothing(operator):
    s = schedule()
    cron.pause_cron(s.name)
    before = snapshot()
    response = operator.post(f"/cron/{s.pk}/pause/", follow=True)
    assert messages_of(response) == ["Schedule nightly is already paused."]
    assert snapshot() == before
    response = operator.post(f"/cron/{s.pk}/resume/", follow=True)
    response = operator.post(f"/cron/{s.pk}/resume/", follow=True)
    assert messages_of(response) == ["Schedule nightly is already active."]


def test_run_now_enqueues_the_job_and_links_to_it(operator):
    s = schedule("nightly", payload={"kind": "daily"}, queue="reports", priority=4)
    response = operator.post(f"/cron/{s.pk}/run/")
    assert response.status_code == 303
    job = Job.objects.get()
    assert (job.job_type, job.payload, job.queue, job.priority, job.status) == (
        "reports.build",
        {"kind": "daily"},
        "reports",
        4,
        "pending",
    )
    s = CronSchedule.objects.get(pk=s.pk)
    assert s.last_job_id == job.pk
    assert s.last_enqueued_at is not None
    html = html_of(operator)
    assert (
        f'<li class="success">Schedule nightly ran: <a href="/jobs/{job.pk}/">job #{job.pk}</a>'
        " enqueued.</li>"
    ) in html
    assert f'<a href="/jobs/{job.pk}/">#{job.pk}</a> <span class="badge pending">' in row_of(
        html, s.pk
    )


def test_run_now_works_on_a_paused_schedule_and_keeps_it_paused(operator):
    s = schedule()
    cron.pause_cron(s.name)
    operator.post(f"/cron/{s.pk}/run/")
    assert Job.objects.count() == 1
    assert CronSchedule.objects.get(pk=s.pk).status == "paused"


def test_run_now_refused_by_the_queue_says_why(operator, monkeypatch):
    s = schedule()

    def refuse(name):
        raise cron.InvalidJobError("queue: is closed")

    monkeypatch.setattr(cron, "run_cron_now", refuse)
    response = operator.post(f"/cron/{s.pk}/run/", follow=True)
    assert messages_of(response) == ["Schedule nightly could not run: queue: is closed"]


def test_remove_deletes_the_schedule_and_keeps_its_jobs(operator):
    s = schedule()
    job = cron.run_cron_now(s.name)
    html = html_of(operator)
    assert 'hx-confirm="Remove schedule “nightly”? The jobs it enqueued stay."' in html
    response = operator.post(f"/cron/{s.pk}/remove/")
    assert response.status_code == 303
    assert not CronSchedule.objects.exists()
    assert Job.objects.filter(pk=job.pk).exists()
    assert messages_of(operator.get("/cron/")) == [
        "Schedule nightly removed; the jobs it enqueued stay."
    ]


def test_htmx_actions_ask_for_a_full_redirect(operator):
    s = schedule()
    response = operator.post(
        f"/cron/{s.pk}/remove/", {"next": "/cron/"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/cron/"


def test_an_off_site_next_is_ignored(operator):
    s = schedule()
    response = operator.post(f"/cron/{s.pk}/pause/", {"next": "https://evil.example/"})
    assert response["Location"] == "/cron/"


@pytest.mark.parametrize(
    "name", ["a/b?c=1#d", "../../admin", "  spaced  name ", "ünï code ✓", "%2F"]
)
def test_routes_are_by_id_so_any_name_works(operator, name):
    s = schedule(name)
    assert html_of(operator, f"/cron/{s.pk}/edit/")
    operator.post(f"/cron/{s.pk}/pause/")
    operator.post(f"/cron/{s.pk}/resume/")
    operator.post(f"/cron/{s.pk}/run/")
    assert Job.objects.count() == 1
    response = operator.post(f"/cron/{s.pk}/edit/", edit_data(s, expression="0 * * * *"))
    assert response.status_code == 303
    assert CronSchedule.objects.get(pk=s.pk).expression == "0 * * * *"
    operator.post(f"/cron/{s.pk}/remove/")
    assert not CronSchedule.objects.exists()


# -- hostile content --------------------------------------------------------------------------


def test_hostile_name_and_payload_are_escaped_everywhere(operator):
    s = schedule(HOSTILE, payload={"note": HOSTILE}, tags=[HOSTILE])
    operator.post(f"/cron/{s.pk}/run/")
    html = html_of(operator)
    assert HOSTILE not in html
    assert f'<td class="cron-name">{ESCAPED}</td>' in html
    assert f"&quot;note&quot;: &quot;{ESCAPED}&quot;" in html
    assert f"Schedule {ESCAPED} ran:" in html  # the message with the job link
    assert f'data-name="{ESCAPED}"' in html
    assert f"Remove schedule “{ESCAPED}”?" in html
    edit = html_of(operator, f"/cron/{s.pk}/edit/")
    assert HOSTILE not in edit
    assert ESCAPED in edit


def test_hostile_input_is_escaped_when_the_form_comes_back(operator):
    response = operator.post(
        "/cron/new/",
        cron_form(
            name=f'"><{HOSTILE}',
            expression=f"</textarea>{HOSTILE}",
            timezone=HOSTILE,
            payload=f"</textarea>{HOSTILE}",
        ),
    )
    html = response.content.decode()
    assert HOSTILE not in html
    assert "</textarea><script" not in html
    assert not CronSchedule.objects.exists()


# -- the preview on the forms -----------------------------------------------------------------


def test_preview_shows_words_and_the_next_runs(operator):
    query = {"expression": "30 1 * * *", "timezone": "Asia/Kolkata"}
    html = html_of(operator, "/cron/preview/", data=query)
    assert '<span class="cron-words" id="cron-preview-words">At 01:30</span>' in html
    cells = fire_cells(html)
    assert len(cells) == 5
    assert all(text.endswith(" 01:30 IST") for _, text in cells)


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"expression": "nope"}, "Not a valid cron expression"),
        ({"expression": "* * * * * *"}, "Needs exactly five fields"),
        ({"expression": "61 * * * *"}, "Not a valid cron expression"),
        ({"expression": "0 0 31 2 *"}, "never fires"),
        ({"expression": "* * * * *", "timezone": "Mars/Base"}, "Unknown time zone"),
    ],
)
def test_preview_explains_what_is_wrong(operator, query, error):
    html = html_of(operator, "/cron/preview/", data=query)
    assert 'id="cron-preview-error"' in html
    assert error in html


def test_preview_of_nothing_asks_for_an_expression(operator):
    assert "Type an expression" in html_of(operator, "/cron/preview/")


def test_preview_escapes_hostile_input(operator):
    query = {"expression": "* * * * *", "timezone": HOSTILE}
    html = html_of(operator, "/cron/preview/", data=query)
    assert HOSTILE not in html
