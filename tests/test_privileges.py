"""Least privilege: no permission grants another, and an API key never does more than its
creator may now. Every path that creates or re-runs jobs needs queueadmin.add_job (cron
schedules: create, edit, resume, run now; retries on the dashboard, the API and the
admin); keys of creators who are inactive, no longer staff or lack the action's
permission get 403; credentials in push endpoints are masked everywhere and sent as
HTTP Basic authentication."""

import base64
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import queue, streams
from core.models import ApiKey, CronSchedule, Job, JobStatus, Subscription
from core.scheduling import cron
from core.streams import delivery
from core.streams.endpoints import mask_secrets, masked_endpoint, split_credentials
from core.streams.subscriptions import masked_endpoint as exported_masked_endpoint
from tests.records import cron_form, schedule, set_status
from tests.users import client_for, make_user, messages_of

pytestmark = pytest.mark.django_db

CRON_ADMIN = "/admin/queueadmin/cronschedule/"
JOB_ADMIN = "/admin/queueadmin/job/"
SUBSCRIPTION_ADMIN = "/admin/queueadmin/subscription/"
SECRET_ENDPOINT = "https://hook-user:s3cr3t-pw@example.com/in"


def bearer(secret):
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def post_json(client, url, data=None, **headers):
    return client.post(url, data=data, content_type="application/json", **headers)


def json_403(response) -> str:
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]["message"]


def cron_snapshot():
    return (
        list(CronSchedule.objects.order_by("id").values()),
        list(Job.objects.order_by("id").values_list("id", "job_type", "status")),
    )


def failed_job() -> Job:
    job = queue.enqueue("reports.build")
    set_status(job, JobStatus.FAILED)
    return job


# -- cron schedules need add_job on the dashboard ---------------------------------------------
def test_the_cron_permissions_alone_cannot_create_edit_resume_or_run_a_schedule():
    cron_only = make_user(
        "cron-only", "view_job", "view_cronschedule", "add_cronschedule", "change_cronschedule"
    )
    client = client_for(cron_only)
    s = schedule()
    paused = schedule(name="paused")
    cron.pause_cron(paused.name)
    before = cron_snapshot()
    assert client.get("/cron/new/").status_code == 403
    assert client.post("/cron/new/", cron_form()).status_code == 403
    assert client.get(f"/cron/{s.pk}/edit/").status_code == 403
    edit = cron_form(expression="*/2 * * * *")
    del edit["name"]
    assert client.post(f"/cron/{s.pk}/edit/", edit).status_code == 403
    assert client.post(f"/cron/{s.pk}/run/").status_code == 403
    assert client.post(f"/cron/{paused.pk}/resume/").status_code == 403
    assert cron_snapshot() == before
    assert not Job.objects.exists()

    html = client.get("/cron/").content.decode()
    for hidden in ("/cron/new/", f"/cron/{s.pk}/run/", f"/cron/{s.pk}/edit/", "/resume/"):
        assert hidden not in html, hidden
    assert f"/cron/{s.pk}/pause/" in html  # pausing enqueues nothing: still allowed
    assert client.post(f"/cron/{s.pk}/pause/").status_code == 303


def test_with_add_job_the_same_user_creates_and_runs_schedules():
    user = make_user(
        "cron-and-jobs",
        *("view_job", "add_job", "view_cronschedule", "add_cronschedule", "change_cronschedule"),
    )
    client = client_for(user)
    assert client.post("/cron/new/", cron_form()).status_code == 303
    s = CronSchedule.objects.get(name="every-five")
    assert client.post(f"/cron/{s.pk}/run/").status_code == 303
    assert Job.objects.filter(job_type="test.echo").count() == 1
    html = client.get("/cron/").content.decode()
    assert "/cron/new/" in html
    assert f"/cron/{s.pk}/run/" in html


# -- retries need add_job on the dashboard ----------------------------------------------------
def test_a_dashboard_retry_needs_add_job():
    changer = client_for(make_user("changer", "view_job", "change_job"))
    job = failed_job()
    assert changer.post(f"/jobs/{job.pk}/retry/").status_code == 403
    bulk = {"action": "retry", "ids": [job.pk]}
    assert changer.post("/jobs/bulk/", bulk).status_code == 403
    run = {"action": "retry", "filters": "{}", "after_id": "0", "up_to_id": str(job.pk)}
    assert changer.post("/jobs/bulk/run/", run).status_code == 403
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED
    assert changer.post(f"/jobs/{job.pk}/cancel/").status_code in (302, 303)  # no add_job needed

    retrier = client_for(make_user("retrier", "view_job", "change_job", "add_job"))
    assert retrier.post(f"/jobs/{job.pk}/retry/").status_code in (302, 303)
    assert Job.objects.get(pk=job.pk).status == JobStatus.PENDING


def test_the_job_pages_offer_retry_only_with_add_job():
    job = failed_job()
    changer = client_for(make_user("changer", "view_job", "change_job"))
    retrier = client_for(make_user("retrier", "view_job", "change_job", "add_job"))
    retry = f'/jobs/{job.pk}/retry/"'.encode()
    for page in ("/jobs/", f"/jobs/{job.pk}/"):
        assert retry not in changer.get(page).content
        assert retry in retrier.get(page).content
    assert b'value="retry"' not in changer.get("/jobs/").content  # the bulk bar
    assert b'value="retry"' in retrier.get("/jobs/").content


# -- the JSON API -----------------------------------------------------------------------------
def test_an_api_retry_needs_add_job_with_a_session_and_with_a_key(client):
    job = failed_job()
    changer = make_user("changer", "view_job", "change_job")
    session = client_for(changer)
    message = json_403(post_json(session, f"/api/jobs/{job.pk}/retry"))
    assert "queueadmin.add_job" in message

    # A read-write key whose creator has since lost add_job.
    creator = make_user("creator", "view_job", "change_job", "add_job", "change_waittoken")
    _, secret = ApiKey.create("deploy", can_write=True, created_by=creator)
    creator.user_permissions.remove(Permission.objects.get(codename="add_job"))
    message = json_403(post_json(client, f"/api/jobs/{job.pk}/retry", **bearer(secret)))
    assert "creator lacks queueadmin.add_job" in message
    message = json_403(post_json(client, "/api/jobs", {"job_type": "x"}, **bearer(secret)))
    assert "creator lacks queueadmin.add_job" in message
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED
    assert Job.objects.count() == 1
    # What the creator still holds keeps working.
    assert client.get("/api/jobs", **bearer(secret)).status_code == 200
    pending = queue.enqueue("reports.build")
    assert post_json(client, f"/api/jobs/{pending.pk}/cancel", **bearer(secret)).status_code == 200


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"is_active": False}, "the key's creator is deactivated"),
        ({"is_staff": False}, "the key's creator is no longer staff"),
    ],
)
def test_a_key_of_an_inactive_or_unstaffed_creator_is_403_for_everything(client, change, reason):
    creator = make_user("deployer", "view_job", "add_job", "change_job", "change_waittoken")
    key, secret = ApiKey.create("deploy", can_write=True, created_by=creator)
    assert client.get("/api/jobs", **bearer(secret)).status_code == 200
    for field, value in change.items():
        setattr(creator, field, value)
    creator.save()
    for response in (
        client.get("/api/jobs", **bearer(secret)),
        client.get("/api/metrics", **bearer(secret)),
        post_json(client, "/api/jobs", {"job_type": "x"}, **bearer(secret)),
    ):
        message = json_403(response)
        assert reason in message
        assert key.prefix in message
    assert not Job.objects.exists()


def test_a_key_whose_creator_lost_view_job_reads_nothing(client):
    creator = make_user("reader-maker", "view_job")
    _, secret = ApiKey.create("reads", created_by=creator)
    assert client.get("/api/jobs", **bearer(secret)).status_code == 200
    creator.user_permissions.clear()
    assert "creator lacks queueadmin.view_job" in json_403(
        client.get("/api/jobs", **bearer(secret))
    )


def test_a_superuser_key_and_a_key_without_creator_keep_working(client, admin_user):
    _, by_admin = ApiKey.create("admin", can_write=True, created_by=admin_user)
    _, by_code = ApiKey.create("code", can_write=True)
    for secret in (by_admin, by_code):
        assert (
            post_json(client, "/api/jobs", {"job_type": "x"}, **bearer(secret)).status_code == 201
        )


# -- the API keys page and the admin's key list -----------------------------------------------
def test_the_api_keys_page_shows_suspended_keys_with_the_reason(admin_client):
    inactive = make_user("gone", "view_job")
    inactive.is_active = False
    inactive.save()
    unstaffed = make_user("ex-staff", "view_job", is_staff=False)
    no_read = make_user("no-read")
    no_add = make_user("no-add", "view_job", "change_job", "change_waittoken")
    fine = make_user("fine", "view_job")
    keys = {
        "k-inactive": ApiKey.create("k-inactive", created_by=inactive)[0],
        "k-unstaffed": ApiKey.create("k-unstaffed", created_by=unstaffed)[0],
        "k-noread": ApiKey.create("k-noread", created_by=no_read)[0],
        "k-noadd": ApiKey.create("k-noadd", can_write=True, created_by=no_add)[0],
        "k-fine": ApiKey.create("k-fine", created_by=fine)[0],
    }
    html = admin_client.get("/api-keys/").content.decode()

    def row(name):
        start = html.index(f'id="apikey-{keys[name].pk}"')
        return html[start : html.index("</tr>", start)]

    assert 'data-state="suspended"' in row("k-inactive")
    assert "creator inactive" in row("k-inactive")
    assert "creator not staff" in row("k-unstaffed")
    assert 'data-state="suspended"' in row("k-unstaffed")
    assert "creator lacks queueadmin.view_job" in row("k-noread")
    assert 'data-state="limited"' in row("k-noadd")
    assert "creator lacks queueadmin.add_job" in row("k-noadd")
    assert 'data-state="active"' in row("k-fine")
    assert "apikey-standing" not in row("k-fine")


def test_the_api_keys_page_takes_the_same_queries_for_many_creators(admin_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get("/api-keys/").status_code == 200
        return len(captured)

    ApiKey.create("one", created_by=make_user("creator-0", "view_job"))
    few = queries()
    for i in range(1, 8):
        ApiKey.create(f"key-{i}", created_by=make_user(f"creator-{i}", "view_job"))
    assert queries() == few


def test_the_admin_key_list_shows_keys_of_inactive_creators_suspended(admin_client):
    creator = make_user("gone", "view_job")
    ApiKey.create("orphaned", created_by=creator)
    creator.is_active = False
    creator.save()
    html = admin_client.get("/admin/queueadmin/apikey/").content.decode()
    assert "<strong>suspended</strong> (creator inactive)" in html


# -- the admin's actions ----------------------------------------------------------------------
def test_admin_run_now_and_resume_need_add_job():
    user = make_user("cron-admin", "view_cronschedule", "change_cronschedule")
    client = client_for(user)
    s = schedule()
    paused = schedule(name="paused")
    cron.pause_cron(paused.name)
    html = client.get(CRON_ADMIN).content.decode()
    assert "pause_selected" in html
    assert "run_selected" not in html
    assert "resume_selected" not in html
    before = cron_snapshot()
    for action, target in (("run_selected", s), ("resume_selected", paused)):
        response = client.post(
            CRON_ADMIN, {"action": action, "_selected_action": [target.pk]}, follow=True
        )
        assert response.status_code == 200
        assert messages_of(response)  # Django's "No action selected."
    assert cron_snapshot() == before
    assert not Job.objects.exists()

    user.user_permissions.add(Permission.objects.get(codename="add_job"))
    client = client_for(user)
    response = client.post(CRON_ADMIN, {"action": "run_selected", "_selected_action": [s.pk]})
    assert response.status_code == 302
    assert Job.objects.count() == 1


def test_admin_retry_needs_add_job():
    user = make_user("job-admin", "view_job", "change_job")
    client = client_for(user)
    job = failed_job()
    html = client.get(JOB_ADMIN).content.decode()
    assert "cancel_selected" in html
    assert "retry_selected" not in html
    client.post(JOB_ADMIN, {"action": "retry_selected", "_selected_action": [job.pk]})
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED
    user.user_permissions.add(Permission.objects.get(codename="add_job"))
    client = client_for(user)
    client.post(JOB_ADMIN, {"action": "retry_selected", "_selected_action": [job.pk]})
    assert Job.objects.get(pk=job.pk).status == JobStatus.PENDING


# -- credentials in push endpoints ------------------------------------------------------------
def test_masked_endpoint():
    assert exported_masked_endpoint is masked_endpoint
    assert masked_endpoint(SECRET_ENDPOINT) == "https://hook-user:***@example.com/in"
    assert masked_endpoint("https://example.com/in") == "https://example.com/in"
    assert masked_endpoint("https://only-user@example.com/") == "https://only-user@example.com/"
    assert masked_endpoint("http://a:b@c@h:99999/x?y=1") == "http://a:***@h:99999/x?y=1"
    assert masked_endpoint("http://h/p?u=a:b@c") == "http://h/p?u=a:b@c"  # no userinfo
    url, header = split_credentials("https://u%40x:p%3Aw@h.example:8443/in?q=1")
    assert url == "https://h.example:8443/in?q=1"
    assert base64.b64decode(header.removeprefix("Basic ")) == b"u@x:p:w"
    assert split_credentials("https://h/in") == ("https://h/in", None)
    assert mask_secrets("failed: s3cr3t-pw", SECRET_ENDPOINT) == "failed: ***"


@pytest.fixture
def subscription():
    streams.create_topic("orders")
    sub = streams.add_subscription("hook", "orders", "billing", SECRET_ENDPOINT)
    Subscription.objects.filter(pk=sub.pk).update(
        last_error="HTTP 401: bad password s3cr3t-pw", last_error_at=timezone.now()
    )
    return sub


def test_admin_pages_never_show_the_password(admin_client, subscription):
    change = f"{SUBSCRIPTION_ADMIN}{subscription.pk}/change/"
    for url in (SUBSCRIPTION_ADMIN, change):
        html = admin_client.get(url).content.decode()
        assert "s3cr3t-pw" not in html, url
        assert "hook-user:***@example.com/in" in html, url
    # A search cannot find the password out either.
    assert ">hook<" not in admin_client.get(SUBSCRIPTION_ADMIN, {"q": "s3cr3t"}).content.decode()
    html = admin_client.get(SUBSCRIPTION_ADMIN, {"q": "example.com/in"}).content.decode()
    assert ">hook<" in html

    viewer = client_for(make_user("sub-viewer", "view_subscription"))
    html = viewer.get(change).content.decode()
    assert "s3cr3t-pw" not in html
    assert "hook-user:***@example.com/in" in html


def _admin_data(sub, **overrides) -> dict:
    data = {
        "name": sub.name,
        "topic": sub.topic_id,
        "group": sub.group,
        "partitions": "[]",
        "endpoint": masked_endpoint(sub.endpoint),
        "batch_size": sub.batch_size,
        "interval": sub.interval,
        "timeout": sub.timeout,
        "active": "on",
    }
    return {**data, **overrides}


def test_the_admin_form_keeps_the_stored_password_for_the_mask(admin_client, subscription):
    change = f"{SUBSCRIPTION_ADMIN}{subscription.pk}/change/"
    response = admin_client.post(change, _admin_data(subscription, batch_size="7"))
    assert response.status_code == 302
    sub = Subscription.objects.get(pk=subscription.pk)
    assert (sub.endpoint, sub.batch_size) == (SECRET_ENDPOINT, 7)

    new_path = "https://hook-user:***@example.com/v2"
    assert admin_client.post(change, _admin_data(sub, endpoint=new_path)).status_code == 302
    assert (
        Subscription.objects.get(pk=sub.pk).endpoint == "https://hook-user:s3cr3t-pw@example.com/v2"
    )

    # Another host never gets the stored password.
    elsewhere = "https://hook-user:***@attacker.example/in"
    response = admin_client.post(change, _admin_data(sub, endpoint=elsewhere))
    assert response.status_code == 200
    html = response.content.decode()
    assert "type the password again" in html.lower()
    assert "s3cr3t-pw" not in html
    assert Subscription.objects.get(pk=sub.pk).endpoint.endswith("@example.com/v2")

    # A new password typed into a form that comes back with errors is not echoed.
    typed = "https://hook-user:n3w-pw@example.com/v2"
    response = admin_client.post(change, _admin_data(sub, endpoint=typed, batch_size="0"))
    assert response.status_code == 200
    assert "n3w-pw" not in response.content.decode()
    response = admin_client.post(change, _admin_data(sub, endpoint=typed))
    assert response.status_code == 302
    assert Subscription.objects.get(pk=sub.pk).endpoint == typed


def test_the_dashboard_streams_page_masks_endpoint_and_error(admin_client, subscription):
    html = admin_client.get("/streams/").content.decode()
    assert "s3cr3t-pw" not in html
    assert "hook-user:***@example.com/in" in html
    assert "bad password ***" in html


def test_invalid_endpoint_errors_do_not_show_the_password():
    streams.create_topic("orders")
    from core.exceptions import InvalidStreamError

    for bad in ("ftp://u:s3cr3t-pw@h/x", "http://u:s3cr3t-pw@h:99999/x", "http://u:s3cr3t-pw@/x"):
        with pytest.raises(InvalidStreamError) as raised:
            streams.add_subscription("x", "orders", "g", bad)
        assert "s3cr3t-pw" not in str(raised.value), bad


# -- Basic authentication on the wire ---------------------------------------------------------
class Receiver:
    """A local HTTP server recording each POST's Host and Authorization headers, answering
    ``status`` with ``answer`` as the body."""

    def __init__(self, status: int = 200, answer: bytes = b"ok") -> None:
        self.requests: list[dict] = []
        receiver = self
        self.status, self.answer = status, answer

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
                self.send_response(receiver.status)
                self.send_header("Content-Length", str(len(receiver.answer)))
                self.end_headers()
                self.wfile.write(receiver.answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(**options) -> Receiver:
        made.append(Receiver(**options))
        return made[-1]

    yield make
    for server in made:
        server.close()


def test_userinfo_is_sent_as_basic_auth_to_the_host_without_it(receiver):
    server = receiver()
    endpoint = f"http://hook%40user:p%3Ass-w0rd@127.0.0.1:{server.port}/in?x=1"
    assert delivery.post(endpoint, b'{"partition": 0}', 5, "hook") is None
    (request,) = server.requests
    assert request["path"] == "/in?x=1"
    assert request["headers"]["Host"] == f"127.0.0.1:{server.port}"
    scheme, token = request["headers"]["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(token) == b"hook@user:p:ss-w0rd"

    plain = f"http://127.0.0.1:{server.port}/in"
    assert delivery.post(plain, b'{"partition": 0}', 5) is None
    assert "Authorization" not in server.requests[1]["headers"]


def test_errors_of_a_push_with_credentials_never_hold_the_password(receiver, caplog):
    server = receiver(status=401, answer=b"wrong password s3cr3t-pw for hook-user")
    endpoint = f"http://hook-user:s3cr3t-pw@127.0.0.1:{server.port}/in"
    error = delivery.post(endpoint, b'{"partition": 0}', 5)
    assert error.startswith("HTTP 401")
    assert "s3cr3t-pw" not in error
    assert "***" in error
    # A host that does not resolve: the userinfo is not taken for part of it.
    error = delivery.post("http://u:s3cr3t-pw@name.invalid/in", b"{}", 2)
    assert "s3cr3t-pw" not in error


@pytest.mark.django_db(transaction=True)
def test_the_pusher_delivers_with_basic_auth_and_records_masked_errors(receiver, caplog):
    from tests.streams.test_subscriptions import pushing
    from tests.workers import wait_for

    caplog.set_level(logging.INFO, logger="queueadmin.streams")
    ok = receiver()
    streams.create_topic("orders")
    streams.publish("orders", {"n": 1})
    streams.add_subscription(
        "good", "orders", "billing", f"http://hook-user:s3cr3t-pw@127.0.0.1:{ok.port}/in"
    )
    bad = receiver(status=500, answer=b"boom s3cr3t-pw")
    streams.add_subscription(
        "bad", "orders", "audit", f"http://hook-user:s3cr3t-pw@127.0.0.1:{bad.port}/in"
    )
    with pushing():
        wait_for(lambda: ok.requests and Subscription.objects.get(name="bad").last_error)
    auth = ok.requests[0]["headers"]["Authorization"]
    assert base64.b64decode(auth.split(" ")[1]) == b"hook-user:s3cr3t-pw"
    assert ok.requests[0]["body"]["messages"][0]["data"] == {"n": 1}
    last_error = Subscription.objects.get(name="bad").last_error
    assert last_error.startswith("HTTP 500")
    assert "s3cr3t-pw" not in last_error
    assert "s3cr3t-pw" not in caplog.text
