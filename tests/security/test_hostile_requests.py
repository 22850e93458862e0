"""No input makes the web layer answer 500.

Every URL pattern of the project (the dashboard, the API, the admin and whatever is
added later) is found through the URL resolver and requested as a superuser (the API
also with a read-write key) with hostile values in its path parameters, its query
parameters, its form fields and its JSON body. Query and form names are found in the
code: the dashboard's forms, the names the views read from ``request.GET``/``POST``,
the API's parameters and fields, the model fields of an admin page, and common ones.

Each request runs in a savepoint rolled back afterwards, so requests are independent
and a database error cannot spoil the next one; a request refused with a 4xx must
leave every table of the app with as many rows as before. All failures are collected
and reported together.

Then the stored values a page shows are pushed to their extremes (years 1 and 9999,
huge numbers) and every page must still render.
"""

import importlib
import inspect
import json
import pkgutil
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from django import forms
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.test import Client, override_settings
from django.urls import URLResolver, get_resolver
from django.utils.regex_helper import normalize

import core
import core.dashboard.forms
from core import queue, streams
from core.api.params import LIST_PARAMS
from core.api.views.jobs import ENQUEUE_FIELDS
from core.models import (
    ApiKey,
    ChannelPolicy,
    ConsumerOffset,
    CronSchedule,
    Job,
    Message,
    Queue,
    Subscription,
    Topic,
    WaitToken,
    Worker,
)
from core.models.jobs import status_ref
from tests.dashboard.conftest import add_worker

pytestmark = pytest.mark.django_db

#: Text no page may fail on, by the name a failure is reported with.
HOSTILE = {
    "NUL": "\x00",
    "NUL inside": "a\x00b",
    "lone surrogate": "\ud800",
    "10 kB": "x" * 10_000,
    "huge number": "99999999999999999999",
    "-1": "-1",
    "²": "²",
    "year 1": "0001-01-01",
    "year 9999": "9999-12-31T23:59:59",
    "past year 9999 in UTC": "9999-12-31T23:59:59-23:59",
    "before year 1 in UTC": "0001-01-01T00:00:00+23:59",
    "NaN": "NaN",
    "1e309": "1e309",
    "markup": "<script>alert(1)</script>",
}
#: JSON nested 100,000 levels deep: more than a parser can recurse into.
DEEP_JSON = "[" * 100_000 + "]" * 100_000
#: Further JSON values for JSON fields, as JSON text (1e999 reads as infinity).
HOSTILE_JSON = {
    **{name: json.dumps(text) for name, text in HOSTILE.items()},
    "10**30": str(10**30),
    "-10**30": str(-(10**30)),
    "1e999": "1e999",
    "-1 (number)": "-1",
    "null": "null",
    "list": "[1]",
    "object": '{"a": 1}',
    "deep JSON": DEEP_JSON,
    "object of NULs": json.dumps({n: "\x00" for n in ("queue", "status", "job_type", "q")}),
    "object of far dates": json.dumps({"created_after": "0001-01-01T00:00:00+00:00"}),
}

#: Query parameters many pages take, beside the ones found in the code.
COMMON_NAMES = (
    *("q", "after", "before", "cursor", "status", "queue", "channel", "page", "limit"),
    *("from", "to", "tag", "o", "p", "e", "_changelist_filters", "next"),
)
#: Views reading ``request.GET``/``request.POST`` by name.
READ_NAME = re.compile(r"""\.(?:GET|POST)(?:\.get|\.getlist)?[\[(]\s*["']([\w-]+)["']""")
#: What the admin's pages read from a query string or form.
ADMIN_NAMES = (
    "q",
    "o",
    "p",
    "e",
    "_changelist_filters",
    "_to_field",
    "_popup",
    "action",
    "_selected_action",
    "select_across",
    "index",
    "all",
)
#: /api/health answers 503 while a check fails (as in the walk's seed: no maintenance ran).
HEALTH = "/api/health"
#: Patterns not requested: logging out would end the session of the walk.
SKIPPED = re.compile(r"logout")


def encoded(text: str) -> str:
    """``text`` percent-encoded as UTF-8 (a lone surrogate as its three raw bytes)."""
    return quote(text, safe="", errors="surrogatepass")


def endpoints() -> list[tuple[str, list[str], object]]:
    """(format, parameter names, view) of every URL pattern, through includes."""

    def walk(patterns, prefix):
        for pattern in patterns:
            regex = prefix + pattern.pattern.regex.pattern.removeprefix("^")
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, regex)
            else:
                yield regex, pattern.callback

    found = []
    for regex, view in walk(get_resolver().url_patterns, ""):
        fmt, params = normalize(regex)[0]
        if not SKIPPED.search(fmt):
            found.append((fmt, params, view))
    return found


def names_of_view(view) -> set[str]:
    """The names a view's module reads from ``request.GET``/``POST`` or has a form for."""
    module = sys.modules[view.__module__]
    names = set(READ_NAME.findall(inspect.getsource(module)))
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, forms.BaseForm):
            names.update(getattr(value, "base_fields", {}))
    return names


def names_read_in_code() -> set[str]:
    """Every name the web layer reads from a query string or form by hand."""
    root = Path(core.__file__).parent
    names = set()
    for package in ("dashboard", "api", "insights", "admin"):
        for source in (root / package).rglob("*.py"):
            names.update(READ_NAME.findall(source.read_text()))
    return names


def dashboard_form_fields() -> set[str]:
    """The fields of every form of ``core.dashboard.forms``."""
    names = set()
    prefix = core.dashboard.forms.__name__ + "."
    for info in pkgutil.iter_modules(core.dashboard.forms.__path__, prefix):
        for value in vars(importlib.import_module(info.name)).values():
            if isinstance(value, type) and issubclass(value, forms.BaseForm):
                names.update(getattr(value, "base_fields", {}))
    return names


def admin_model(fmt: str):
    """The model of an admin page's path (``…/<app>/<model>/…``), if any."""
    for app_label, model_name in re.findall(r"(?=\b(\w+)/(\w+)/)", fmt):
        try:
            return apps.get_model(app_label, model_name)
        except LookupError:
            continue
    return None


def table_counts() -> dict[str, int]:
    """Rows per table of the app, in one query."""
    models = list(apps.get_app_config("queueadmin").get_models())
    quote_name = connection.ops.quote_name
    counts = ", ".join(f"(SELECT COUNT(*) FROM {quote_name(m._meta.db_table)})" for m in models)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        row = cursor.fetchone()
    return {m._meta.db_table: n for m, n in zip(models, row, strict=True)}


def seed() -> dict[str, str]:
    """A little of everything, so object pages exist: valid values of path parameters."""
    job = queue.enqueue("hostile.job", {"n": 1}, queue="hostile", channel="hostile-channel")
    waiting = queue.enqueue("hostile.wait", {"n": 2})
    token = queue.create_token(waiting.pk, timeout=600)
    Job.objects.filter(pk=waiting.pk).update(status="waiting", wait_token=token.pk)
    schedule = queue.add_cron("hostile-cron", "*/5 * * * *", "hostile.job", {"n": 3})
    queue.set_queue_policy("hostile", max_concurrency=2)
    queue.set_channel_policy("hostile-channel", max_concurrency=1)
    streams.create_topic("hostile-topic", partitions=2)
    streams.publish("hostile-topic", {"n": 4}, partition=0)
    streams.commit("hostile-group", "hostile-topic", 0, 1)
    streams.add_subscription("hostile-sub", "hostile-topic", "hostile-group", "https://e.test/h")
    add_worker("hostile-worker")
    key, secret = ApiKey.create("hostile-key", can_write=True)
    return {
        "secret": secret,
        "api-key": str(key.pk),
        "cron": str(schedule.pk),
        "token": token.pk,
        "job": str(job.pk),
        "ref": status_ref(job.pk),
        "app_label": "queueadmin",
        "topic": "hostile-topic",
        "group": "hostile-group",
        "queue": "hostile",
        "channel": "hostile-channel",
    }


class Walk:
    """Sends requests in rolled-back savepoints and collects what went wrong."""

    def __init__(self) -> None:
        self.baseline = table_counts()
        self.failures: list[str] = []
        self.requests = 0

    def send(
        self,
        client,
        what: str,
        method: str,
        path: str,
        query: str = "",
        body=b"",
        content_type: str = "application/x-www-form-urlencoded",
    ) -> int | None:
        """Send the request; its status code (None when the view raised)."""
        self.requests += 1
        problem = status = None
        with transaction.atomic():
            try:
                response = client.generic(
                    method, path, body, content_type=content_type, QUERY_STRING=query
                )
            except Exception as exc:  # the test client re-raises what a view raised
                problem = f"raised {type(exc).__name__}: {str(exc)[:150]!r}"
            else:
                status = response.status_code
                if status == 503 and path.startswith(HEALTH):
                    pass  # its answer while a health check fails, not a server error
                elif status >= 500:
                    problem = f"answered {status}: {response.content[:150]!r}"
                elif 400 <= status < 500:
                    problem = self._changed(status)
            transaction.set_rollback(True)
        if problem:
            self.failures.append(f"{method} {path[:100]} [{what}]: {problem}")
        return status

    def _changed(self, status: int) -> str | None:
        try:
            counts = table_counts()
        except DatabaseError as exc:
            return f"answered {status} but left the transaction broken: {exc}"
        changed = {t: (n, counts[t]) for t, n in self.baseline.items() if counts[t] != n}
        return f"answered {status} but changed rows: {changed}" if changed else None


def _rotated(names, round_: int, values: dict[str, str]) -> list[tuple[str, str, str]]:
    """(name, value label, value): each name a different value, shifted by ``round_``."""
    labels = list(values)
    return [
        (name, labels[(i + round_) % len(labels)], values[labels[(i + round_) % len(labels)]])
        for i, name in enumerate(names)
    ]


def _form(pairs) -> bytes:
    return "&".join(f"{encoded(n)}={encoded(v)}" for n, _, v in pairs).encode()


def _show(pairs, limit: int = 6) -> str:
    text = ", ".join(f"{n}={label}" for n, label, _ in pairs[:limit])
    return text + (", …" if len(pairs) > limit else "")


#: The parts of the site walked by a test each, by their path's start ("" for the rest).
AREAS = {"dashboard": "", "API": "api/", "admin": "admin/"}


def _area(fmt: str) -> str:
    return next((a for a, start in AREAS.items() if start and fmt.startswith(start)), "dashboard")


def _sample(values: dict[str, str], count: int, offset: int) -> dict[str, str]:
    """``count`` of ``values``, a different few for each ``offset``."""
    labels = list(values)
    chosen = [labels[(offset + i) % len(labels)] for i in range(min(count, len(labels)))]
    return {label: values[label] for label in chosen}


#: Values every name a view reads gets alone (the others take turns).
ALWAYS = ("NUL", "²")
#: Requests a tester found failing, sent as they were: (method, path, query, form body).
REPORTED = (
    ("POST", "/api/tokens/%00/complete", "", ""),
    ("POST", "/tokens/%00/complete/", "", ""),
    ("GET", "/queues/", "q=%00", ""),
    ("GET", "/queues/", "after=%00", ""),
    ("GET", "/queues/channels/edit/", "channel=%00", ""),
    ("GET", "/tokens/", "before=2026-01-01T00:00:00%2B00:00%7C%00", ""),
    ("GET", "/admin/queueadmin/topic/%00/change/", "", ""),
    ("GET", "/admin/queueadmin/topic/_00/change/", "", ""),
    ("GET", "/admin/queueadmin/waittoken/%00/change/", "", ""),
    ("GET", "/admin/queueadmin/job/", "q=%C2%B2", ""),
    ("GET", "/admin/queueadmin/jobevent/", "q=%C2%B2", ""),
    ("GET", "/admin/queueadmin/waittoken/", "q=%C2%B2", ""),
    ("POST", "/jobs/bulk/run/", "", "action=cancel&filters=%7B%22queue%22%3A+%22%5Cu0000%22%7D"),
    ("POST", "/queues/channels/clear/", "", "name=%00"),
)


def _values_for(name: str, offset: int) -> dict[str, str]:
    others = [label for label in HOSTILE if label not in ALWAYS]
    return {
        **{label: HOSTILE[label] for label in ALWAYS},
        others[offset % len(others)]: HOSTILE[others[offset % len(others)]],
    }


def test_the_requests_found_failing_before_are_answered_without_a_server_error(staff_client):
    seed()
    walk = Walk()
    for method, path, query, body in REPORTED:
        walk.send(staff_client, "reported", method, path, query, body.encode())
    if walk.failures:
        pytest.fail(f"{len(walk.failures)} failures:\n" + "\n".join(walk.failures), False)


@pytest.mark.parametrize("area", AREAS)
def test_no_hostile_request_gets_a_server_error_or_changes_anything_it_refuses(area, staff_client):
    """Per URL pattern: hostile path values (each), query strings and forms with every
    known name hostile (a few rounds, each name a different value), each name the view
    itself reads alone (NUL, ² and one more), JSON nested too deeply, and each API field
    hostile. The admin's pages are those of this app's models and the site's own."""
    valid = seed()
    keyed = Client(HTTP_AUTHORIZATION=f"Bearer {valid['secret']}")
    every_name = names_read_in_code() | dashboard_form_fields() | set(LIST_PARAMS)
    every_name |= set(COMMON_NAMES)
    form_values = {**HOSTILE, **{f"JSON {k}": v for k, v in HOSTILE_JSON.items()}}
    api_fields = sorted({*ENQUEUE_FIELDS, "output"})
    walk = Walk()
    walked = [e for e in endpoints() if _area(e[0]) == area]
    assert walked, f"no URL pattern found for the {area}"

    for number, (fmt, params, view) in enumerate(walked):
        model = admin_model(fmt) if area == "admin" else None
        if model is not None and model._meta.app_label != "queueadmin":
            continue  # another app's admin pages: Django's, not ours
        values = {}
        for name in params:
            if name == "object_id" and model is not None:
                first = model._default_manager.first()
                values[name] = str(first.pk) if first is not None else "1"
            else:
                values[name] = valid.get(name) or next(
                    (v for word, v in valid.items() if word in fmt), valid["job"]
                )
        path = "/" + fmt % {name: encoded(v) for name, v in values.items()}
        own = names_of_view(view)
        if area == "API":
            own |= set(LIST_PARAMS)
        if model is not None:
            own = set(ADMIN_NAMES) if fmt.endswith(f"{model._meta.model_name}/") else set()
        names = sorted(every_name | own)
        if model is not None:
            names = sorted({*COMMON_NAMES, *ADMIN_NAMES, *(f.name for f in model._meta.fields)})
        clients = [("superuser", staff_client)]
        if area == "API":
            clients.append(("API key", keyed))

        for who, client in clients:
            # The methods the view answers: only they get hostile queries and forms.
            allowed = {
                method
                for method in ("GET", "POST")
                if walk.send(client, f"{who}, valid path", method, path) != 405
            }
            # Path parameters: each one every hostile value (GET), a few (POST).
            for name in params:
                for method, count in (("GET", len(HOSTILE)), ("POST", 3)):
                    for label, text in _sample(HOSTILE, count, number).items():
                        hostile = {**values, name: text}
                        bad = "/" + fmt % {n: encoded(v) for n, v in hostile.items()}
                        walk.send(client, f"{who}, {name}={label}", method, bad)
            # Query strings and forms: every name at once (each a different value)…
            if "GET" in allowed:
                pairs = _rotated(names, number, HOSTILE)
                walk.send(client, f"{who}, {_show(pairs)}", "GET", path, _form(pairs).decode())
            if "POST" in allowed:
                pairs = _rotated(names, number, form_values)
                walk.send(client, f"{who}, form {_show(pairs)}", "POST", path, body=_form(pairs))
            # … then each name the view reads alone.
            for i, name in enumerate(sorted(own)):
                for label, text in _values_for(name, number + i).items():
                    pairs = [(name, label, text)]
                    if "GET" in allowed:
                        query = _form(pairs).decode()
                        walk.send(client, f"{who}, {_show(pairs)}", "GET", path, query)
                    if "POST" in allowed:
                        body = _form(pairs)
                        walk.send(client, f"{who}, form {_show(pairs)}", "POST", path, body=body)
            if model is not None or "POST" not in allowed:
                continue  # the admin reads no JSON, and its forms take no JSON text
            for i, name in enumerate(sorted(own)):
                label = list(HOSTILE_JSON)[(number + i) % len(HOSTILE_JSON)]
                pairs = [(name, f"JSON {label}", HOSTILE_JSON[label])]
                walk.send(client, f"{who}, form {_show(pairs)}", "POST", path, body=_form(pairs))
            deep = [(name, "deep JSON", DEEP_JSON) for name in sorted(own)]
            if deep:
                walk.send(
                    client, f"{who}, form: deep JSON in each field", "POST", path, body=_form(deep)
                )
            json_type = "application/json"
            walk.send(
                client, f"{who}, JSON deep", "POST", path, body=DEEP_JSON, content_type=json_type
            )
            if area == "API":
                labels = list(HOSTILE_JSON)
                for i in range(max(len(api_fields), len(labels))):
                    field = api_fields[i % len(api_fields)]
                    label = labels[(i + number) % len(labels)]
                    text = HOSTILE_JSON[label]
                    pairs = f'"job_type": "x", {json.dumps(field)}: {text}'
                    if field == "job_type":
                        pairs = f'"job_type": {text}'
                    walk.send(
                        client,
                        f"{who}, JSON {field}={label}",
                        "POST",
                        path,
                        body="{" + pairs + "}",
                        content_type=json_type,
                    )

    print(f"{area}: {len(walked)} URL patterns, {walk.requests} requests")
    if walk.failures:  # all at once, not truncated
        pytest.fail(f"{len(walk.failures)} failures:\n" + "\n".join(walk.failures), False)


#: The first and last moments a datetime holds, and numbers past any sensible bound.
YEAR_1 = datetime(1, 1, 1, tzinfo=UTC)
YEAR_9999 = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
INT_MAX = 2**31 - 1
EXTREME_NUMBERS = {
    "retry_delay": 1e12,
    "retry_delay_max": 1e300,
    "timeout": 1e300,
    "progress": 100,  # the column's check: 0 to 100
    "attempts": INT_MAX,
    "max_attempts": INT_MAX,
    "priority": -100,  # the column's check: -100 to 100
}


def store_extremes(valid: dict[str, str]) -> None:
    """Push what the pages show to the ends of what the columns hold."""
    first, second = Job.objects.order_by("pk")[:2]
    times = ("run_at", "created_at", "updated_at", "started_at", "wait_until", "locked_until")
    Job.objects.filter(pk=first.pk).update(
        **dict.fromkeys(times, YEAR_1), completed_at=YEAR_9999, **EXTREME_NUMBERS
    )
    Job.objects.filter(pk=second.pk).update(
        **dict.fromkeys(times, YEAR_9999), failed_at=YEAR_1, **EXTREME_NUMBERS
    )
    CronSchedule.objects.update(
        next_run_at=YEAR_9999,
        last_enqueued_at=YEAR_1,
        last_skipped_at=YEAR_1,
        skipped=INT_MAX,
        options={"timeout": 1e300, "max_attempts": INT_MAX, "priority": 0},
    )
    WaitToken.objects.update(timeout_at=YEAR_9999, created_at=YEAR_1)
    ApiKey.objects.update(expires_at=YEAR_9999, last_used_at=YEAR_1, created_at=YEAR_1)
    Worker.objects.update(
        started_at=YEAR_1, heartbeat_at=YEAR_9999, processed=2**63 - 1, running=INT_MAX
    )
    Queue.objects.update(rate_period=1e300, max_concurrency=INT_MAX, rate_limit=INT_MAX)
    ChannelPolicy.objects.update(release_interval=1e300, last_started_at=YEAR_1)
    Topic.objects.update(retention_seconds=1e300, retention_messages=2**63 - 1, created_at=YEAR_1)
    Message.objects.update(created_at=YEAR_9999)
    ConsumerOffset.objects.update(updated_at=YEAR_1)
    Subscription.objects.update(
        interval=1e300, timeout=1e300, last_error_at=YEAR_1, last_success_at=YEAR_9999
    )


def pages(valid: dict[str, str]) -> list[tuple[str, str]]:
    """The path of every page of the dashboard, the API and this app's admin, with
    valid path parameters, and a query string naming seeded objects by the names the
    page's view reads (for pages that show one object named in the query string)."""
    found = []
    for fmt, params, view in endpoints():
        model = admin_model(fmt)
        if fmt.startswith("admin/") and (model is None or model._meta.app_label != "queueadmin"):
            continue
        values = {}
        for name in params:
            if name == "object_id" and model is not None:
                first = model._default_manager.order_by("pk").first()
                values[name] = str(first.pk) if first is not None else "1"
            else:
                values[name] = valid.get(name) or next(
                    (v for word, v in valid.items() if word in fmt), valid["job"]
                )
        path = "/" + fmt % {name: encoded(v) for name, v in values.items()}
        query = "&".join(
            f"{name}={encoded(valid[name])}"
            for name in sorted(names_of_view(view))
            if name in valid and name not in params
        )
        found.append((path, query))
    return found


# UTC, the settings' default: in a zone hours away from UTC, Django itself cannot
# show a time within those hours of year 1's start or year 9999's end (localtime
# overflows, in the admin too); the queue API keeps times from 1970 to 9000.
@pytest.mark.parametrize("zone", ["UTC"])
def test_every_page_renders_the_most_extreme_values_the_database_holds(zone, staff_client):
    """Every page answering 200 with ordinary data still does once times sit at years 1
    and 9999 and numbers at their columns' ends, in the time zones furthest from UTC."""
    valid = seed()
    with override_settings(TIME_ZONE=zone):
        showing = []
        for path, query in pages(valid):
            for query_string in ("", query):
                if staff_client.get(path, QUERY_STRING=query_string).status_code == 200:
                    showing.append((path, query_string))
                    break
        showing.append((f"/api/jobs/{valid['job']}", ""))
        store_extremes(valid)
        keyed = Client(HTTP_AUTHORIZATION=f"Bearer {valid['secret']}")
        walk = Walk()
        for path, query in showing:
            for who, client in (("superuser", staff_client), ("API key", keyed)):
                if who == "API key" and not path.startswith("/api/"):
                    continue
                try:
                    status = client.get(path, QUERY_STRING=query).status_code
                except Exception as exc:
                    status = f"raised {type(exc).__name__}: {str(exc)[:150]!r}"
                if status != 200:
                    walk.failures.append(f"GET {path}?{query} [{who}, zone {zone}]: {status}")
    assert len(showing) > 40, showing
    if walk.failures:
        pytest.fail(f"{len(walk.failures)} failures:\n" + "\n".join(walk.failures), False)
