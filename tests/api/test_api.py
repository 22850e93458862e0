"""The JSON API: authentication, jobs, tokens, status URLs and JSON errors."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core import queue
from core.models import ApiKey, EventType, Job, JobStatus, TokenStatus, WaitToken
from core.models.apikeys import hash_key
from tests.users import client_for, make_user

pytestmark = pytest.mark.django_db


def bearer(secret):
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def writer():
    return ApiKey.create("writer", can_write=True)[1]


@pytest.fixture
def reader():
    return ApiKey.create("reader")[1]


def post_json(client, url, data=None, **headers):
    return client.post(url, data=data, content_type="application/json", **headers)


def assert_error(response, status):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["status"] == status
    assert error["message"]
    return error["message"]


# Authentication


def test_no_key_is_401_with_a_bearer_challenge(client):
    response = client.get("/api/jobs")
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_key_is_401(client, reader):
    assert_error(client.get("/api/jobs", **bearer(reader + "x")), 401)


def test_a_malformed_authorization_header_is_401(client, reader):
    response = client.get("/api/jobs", HTTP_AUTHORIZATION=f"Token {reader}")
    assert "Bearer" in assert_error(response, 401)


def test_a_revoked_key_is_401(client):
    key, secret = ApiKey.create("old")
    key.revoke()
    assert_error(client.get("/api/jobs", **bearer(secret)), 401)


def test_an_expired_key_is_401(client):
    _, secret = ApiKey.create("old", expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(client.get("/api/jobs", **bearer(secret)), 401)


def test_a_valid_key_reads_jobs(client, reader):
    assert client.get("/api/jobs", **bearer(reader)).status_code == 200


def test_a_key_records_when_it_was_last_used(client):
    key, secret = ApiKey.create("k")
    client.get("/api/jobs", **bearer(secret))
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_only_the_hash_of_a_key_is_stored():
    key, secret = ApiKey.create("k")
    assert key.key_hash == hash_key(secret)
    stored = ApiKey.objects.filter(pk=key.pk).values_list("name", "prefix", "key_hash").get()
    assert secret not in stored
    assert secret.startswith(key.prefix)


def test_a_read_only_key_may_not_enqueue(client, reader):
    response = post_json(client, "/api/jobs", {"job_type": "x"}, **bearer(reader))
    assert "read-only" in assert_error(response, 403)
    assert not Job.objects.exists()


def test_a_staff_session_with_view_permission_reads_jobs():
    client = client_for(make_user("ops", "view_job"))
    assert client.get("/api/jobs").status_code == 200


def test_a_staff_session_without_the_permission_is_403():
    client = client_for(make_user("ops"))
    assert_error(client.get("/api/jobs"), 403)


def test_a_non_staff_session_is_403():
    client = client_for(make_user("visitor", "view_job", is_staff=False))
    assert_error(client.get("/api/jobs"), 403)


def test_a_session_write_needs_the_csrf_token():
    user = make_user("ops", "view_job", "add_job")
    client = client_for(user, enforce_csrf_checks=True)
    response = post_json(client, "/api/jobs", {"job_type": "x"})
    assert "CSRF" in assert_error(response, 403)
    assert not Job.objects.exists()


def test_a_session_write_with_the_csrf_token_enqueues():
    client = client_for(make_user("ops", "view_job", "add_job"), enforce_csrf_checks=True)
    token = "a" * 32  # the cookie's value and the header's must match
    client.cookies["csrftoken"] = token
    response = post_json(client, "/api/jobs", {"job_type": "x"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201


def test_a_bearer_key_needs_no_csrf_token(writer):
    client = Client(enforce_csrf_checks=True)
    response = post_json(client, "/api/jobs", {"job_type": "x"}, **bearer(writer))
    assert response.status_code == 201


# Reading jobs


def test_get_job_returns_its_fields_and_errors(client, reader):
    job = queue.enqueue("report.build", {"n": 1}, tags=["t"], queue="q1")
    Job.objects.filter(pk=job.pk).update(
        errors=[{"attempt": 1, "type": "builtins.ValueError", "message": "no", "traceback": "T"}]
    )
    data = client.get(f"/api/jobs/{job.pk}", **bearer(reader)).json()
    assert (data["id"], data["job_type"], data["queue"]) == (job.pk, "report.build", "q1")
    assert (data["payload"], data["tags"], data["status"]) == ({"n": 1}, ["t"], "pending")
    assert data["errors"][0]["traceback"] == "T"
    assert data["last_error"] == {"type": "builtins.ValueError", "message": "no"}
    assert data["status_url"].startswith("http://testserver/api/status/")


def test_get_an_unknown_job_is_404(client, reader):
    assert_error(client.get("/api/jobs/999", **bearer(reader)), 404)


def test_get_a_job_id_past_64_bits_is_404(client, reader):
    assert_error(client.get(f"/api/jobs/{2**64}", **bearer(reader)), 404)


def test_list_filters_like_the_dashboard(client, reader):
    queue.enqueue("a", queue="q1", tags=["red"])
    wanted = queue.enqueue("b", queue="q2", tags=["red", "big"])
    queue.enqueue("b", queue="q2", tags=["blue"])
    response = client.get("/api/jobs?queue=q2&tags=red&status=pending", **bearer(reader))
    assert [job["id"] for job in response.json()["jobs"]] == [wanted.pk]


def test_list_is_newest_first_in_keyset_pages(client, reader):
    ids = [queue.enqueue("a").pk for _ in range(5)]
    first = client.get("/api/jobs?limit=2", **bearer(reader)).json()
    assert [j["id"] for j in first["jobs"]] == ids[:-3:-1]
    second = client.get(f"/api/jobs?limit=2&cursor={first['next_cursor']}", **bearer(reader))
    last = client.get(f"/api/jobs?limit=2&cursor={ids[1]}", **bearer(reader)).json()
    assert [j["id"] for j in second.json()["jobs"]] == [ids[2], ids[1]]
    assert ([j["id"] for j in last["jobs"]], last["next_cursor"]) == ([ids[0]], None)


def test_list_searches_by_idempotency_key(client, reader):
    job = queue.enqueue("a", idempotency_key="order-7")
    queue.enqueue("a")
    data = client.get("/api/jobs?q=order-7", **bearer(reader)).json()
    assert [j["id"] for j in data["jobs"]] == [job.pk]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("status=bogus", "status"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("cursor=x", "cursor"),
        ("since=2y", "since"),
        ("created_after=yesterday", "created_after"),
        ("colour=red", "colour"),
        ("queue=a&queue=b", "queue"),
    ],
)
def test_bad_list_parameters_are_400_naming_the_parameter(client, reader, query, names):
    assert names in assert_error(client.get(f"/api/jobs?{query}", **bearer(reader)), 400)


# Enqueueing


def test_enqueue_creates_the_job_with_its_options(client, writer):
    body = {
        "job_type": "email.send",
        "payload": {"to": "a@example.com"},
        "queue": "mail",
        "priority": 5,
        "tags": ["welcome"],
        "max_attempts": 7,
        "run_at": "2030-01-01T12:00:00+01:00",
    }
    response = post_json(client, "/api/jobs", body, **bearer(writer))
    assert response.status_code == 201
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.job_type, job.queue, job.priority, job.max_attempts) == ("email.send", "mail", 5, 7)
    assert (job.payload, job.tags) == ({"to": "a@example.com"}, ["welcome"])
    assert job.run_at.isoformat() == "2030-01-01T11:00:00+00:00"
    assert response["Location"].endswith(f"/api/jobs/{job.pk}")


def test_enqueue_with_an_existing_idempotency_key_returns_that_job(client, writer):
    first = post_json(
        client, "/api/jobs", {"job_type": "a", "idempotency_key": "k"}, **bearer(writer)
    )
    again = post_json(
        client, "/api/jobs", {"job_type": "a", "idempotency_key": "k"}, **bearer(writer)
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert (again.json()["id"], again.json()["deduplicated"]) == (first.json()["id"], True)
    assert Job.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "job_type"),
        ({"payload": 1}, "job_type"),
        ({"job_type": ""}, "job_type"),
        ({"job_type": 7}, "job_type"),
        ({"job_type": "a", "priority": 1000}, "priority"),
        ({"job_type": "a", "priority": "high"}, "priority"),
        ({"job_type": "a", "queue": "no spaces"}, "queue"),
        ({"job_type": "a", "tags": "red"}, "tags"),
        ({"job_type": "a", "run_at": "tomorrow"}, "run_at"),
        ({"job_type": "a", "run_at": "2030-01-01T12:00:00"}, "run_at"),
        ({"job_type": "a", "delay": -1}, "delay"),
        ({"job_type": "a", "delay": 1e300}, "delay"),
        ({"job_type": "a", "depends_on": [123456]}, "depends_on"),
        ({"job_type": "a", "colour": "red"}, "colour"),
        ({"job_type": "a", "payload": "nul\u0000"}, "NUL"),
    ],
)
def test_invalid_enqueues_are_400_naming_the_field_and_write_nothing(client, writer, body, field):
    response = post_json(client, "/api/jobs", body, **bearer(writer))
    assert field in assert_error(response, 400)
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ("", "application/json", 400),
        ("job_type=a", "application/x-www-form-urlencoded", 415),
    ],
)
def test_enqueue_bodies_that_are_not_a_json_object_are_refused(
    client, writer, data, content_type, status
):
    response = client.post("/api/jobs", data=data, content_type=content_type, **bearer(writer))
    assert_error(response, status)
    assert not Job.objects.exists()


# Retry and cancel


def test_retry_a_failed_job(client, writer):
    job = queue.enqueue("a")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, failed_at=timezone.now())
    response = client.post(f"/api/jobs/{job.pk}/retry", **bearer(writer))
    assert response.json()["status"] == "pending"
    event = job.events.get(type=EventType.RETRIED)
    assert event.metadata["actor"] == "api key writer"


def test_cancel_a_pending_job(client, writer):
    job = queue.enqueue("a")
    response = post_json(client, f"/api/jobs/{job.pk}/cancel", **bearer(writer))
    assert response.json()["status"] == "cancelled"
    assert Job.objects.get(pk=job.pk).status == JobStatus.CANCELLED


def test_cancel_a_finished_job_is_409(client, writer):
    job = queue.enqueue("a")
    queue.cancel_job(job.pk)
    assert "cancelled" in assert_error(
        client.post(f"/api/jobs/{job.pk}/cancel", **bearer(writer)), 409
    )


def test_retry_an_unknown_job_is_404(client, writer):
    assert_error(client.post("/api/jobs/999/retry", **bearer(writer)), 404)


def test_a_read_only_key_may_not_cancel(client, reader):
    job = queue.enqueue("a")
    assert_error(client.post(f"/api/jobs/{job.pk}/cancel", **bearer(reader)), 403)
    assert Job.objects.get(pk=job.pk).status == JobStatus.PENDING


def test_a_staff_session_needs_change_permission_to_cancel():
    job = queue.enqueue("a")
    client = client_for(make_user("viewer", "view_job"))
    assert_error(client.post(f"/api/jobs/{job.pk}/cancel"), 403)
    client = client_for(make_user("operator", "view_job", "change_job"))
    assert client.post(f"/api/jobs/{job.pk}/cancel").status_code == 200


# Tokens


def waiting_token():
    job = queue.enqueue("a")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.WAITING)
    return WaitToken.objects.create(job=job)


def test_complete_a_token_wakes_its_job_with_the_output(client, writer):
    token = waiting_token()
    Job.objects.filter(pk=token.job_id).update(wait_token=token.pk)
    response = post_json(
        client, f"/api/tokens/{token.pk}/complete", {"output": {"ok": 1}}, **bearer(writer)
    )
    assert response.status_code == 200
    assert response.json()["token"]["status"] == TokenStatus.COMPLETED
    token.refresh_from_db()
    assert (token.status, token.output) == (TokenStatus.COMPLETED, {"ok": 1})
    assert Job.objects.get(pk=token.job_id).status == JobStatus.PENDING


def test_complete_a_completed_token_is_409(client, writer):
    token = waiting_token()
    queue.complete_token(token.pk, 1)
    assert_error(client.post(f"/api/tokens/{token.pk}/complete", **bearer(writer)), 409)


def test_complete_an_unknown_token_is_404(client, writer):
    assert_error(client.post("/api/tokens/nope/complete", **bearer(writer)), 404)


def test_complete_a_token_with_unknown_fields_is_400(client, writer):
    token = waiting_token()
    response = post_json(client, f"/api/tokens/{token.pk}/complete", {"data": 1}, **bearer(writer))
    assert_error(response, 400)
    assert WaitToken.objects.get(pk=token.pk).status == TokenStatus.WAITING


# Status URLs


def test_the_status_url_needs_no_login(client):
    job = queue.enqueue("a")
    Job.objects.filter(pk=job.pk).update(progress=40, status=JobStatus.PROCESSING)
    response = client.get(job.status_url)
    assert response.status_code == 200
    data = response.json()
    assert (data["status"], data["progress"], data["finished"]) == ("processing", 40, False)
    assert set(data) == {"status", "progress", "output", "error", "updated_at", "finished"}
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"] == "no-store"


def test_a_failed_job_status_shows_only_the_last_message(client):
    job = queue.enqueue("a")
    errors = [{"message": "first", "traceback": "secret"}, {"message": "last", "traceback": "x"}]
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, errors=errors)
    data = client.get(job.status_url).json()
    assert (data["error"], data["finished"]) == ("last", True)
    assert "secret" not in str(data)


def test_a_tampered_status_url_is_404(client):
    job = queue.enqueue("a")
    other = queue.enqueue("a")
    url = job.status_url
    signature = url.rsplit(":", 1)[1]
    assert_error(client.get(url[:-1] + ("A" if url[-1] != "A" else "B")), 404)
    assert_error(client.get(f"/api/status/{other.pk}:{signature}"), 404)
    assert_error(client.get(f"/api/status/{job.pk}"), 404)


def test_the_status_of_a_deleted_job_is_404(client):
    job = queue.enqueue("a")
    url = job.status_url
    queue.delete_job(job.pk)
    assert_error(client.get(url), 404)


def test_status_urls_differ_per_job_and_do_not_reveal_other_jobs():
    first, second = queue.enqueue("a"), queue.enqueue("a")
    assert first.status_url != second.status_url


# JSON everywhere


def test_an_unknown_api_path_is_404_json(client):
    assert_error(client.get("/api/nothing/here"), 404)


@pytest.mark.parametrize(
    ("method", "url", "allow"),
    [
        ("delete", "/api/jobs", "GET, POST, HEAD"),
        ("put", "/api/jobs/1", "GET, HEAD"),
        ("get", "/api/jobs/1/retry", "POST"),
        ("get", "/api/tokens/x/complete", "POST"),
        ("post", "/api/metrics", "GET, HEAD"),
    ],
)
def test_wrong_methods_are_405_json_with_allow(client, method, url, allow):
    response = getattr(client, method)(url)
    assert_error(response, 405)
    assert response["Allow"] == allow


def test_the_openapi_document_describes_every_route(client):
    document = client.get("/api/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": "http://testserver/api"}]
    assert set(document["paths"]) == {
        "/jobs",
        "/jobs/{pk}",
        "/jobs/{pk}/retry",
        "/jobs/{pk}/cancel",
        "/tokens/{token_id}/complete",
        "/status/{ref}",
        "/metrics",
        "/health",
    }


# Caching and cross-origin headers of every answer


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("get", "/api/jobs", 401),  # no key
        ("get", "/api/nothing/here", 404),
        ("get", "/api/status/1:forged", 404),
        ("delete", "/api/jobs", 405),
    ],
)
def test_error_answers_are_never_cached(client, method, url, status):
    response = getattr(client, method)(url)
    assert_error(response, status)
    assert response["Cache-Control"] == "no-store"


def test_a_wrong_method_on_the_status_url_still_allows_any_origin():
    job = queue.enqueue("a")
    client = Client(enforce_csrf_checks=True)
    for method in ("post", "put", "delete", "options"):
        response = getattr(client, method)(job.status_url)
        assert_error(response, 405)
        assert response["Allow"] == "GET, HEAD", method
        assert response["Access-Control-Allow-Origin"] == "*", method
        assert response["Cache-Control"] == "no-store", method
    assert Job.objects.get(pk=job.pk).status == JobStatus.PENDING


def test_every_answer_of_the_status_url_allows_any_origin(client):
    job = queue.enqueue("a")
    answers = [client.get(job.status_url), client.head(job.status_url)]
    url = job.status_url
    answers.append(client.get(url[:-1] + ("A" if url[-1] != "A" else "B")))  # tampered: 404
    assert [r.status_code for r in answers] == [200, 200, 404]
    for response in answers:
        assert response["Access-Control-Allow-Origin"] == "*"
        assert response["Cache-Control"] == "no-store"


# A key whose creator is deactivated (more in tests/test_privileges.py)


def test_a_key_of_a_deactivated_creator_is_403_until_they_are_active_again(client):
    creator = make_user("deployer", *("view_job", "add_job", "change_job", "change_waittoken"))
    key, secret = ApiKey.create("deploy", can_write=True, created_by=creator)
    assert client.get("/api/jobs", **bearer(secret)).status_code == 200
    used_at = ApiKey.objects.get(pk=key.pk).last_used_at

    creator.is_active = False
    creator.save(update_fields=["is_active"])
    for response in (
        client.get("/api/jobs", **bearer(secret)),
        client.get("/api/metrics", **bearer(secret)),
        post_json(client, "/api/jobs", {"job_type": "x"}, **bearer(secret)),
    ):
        assert "the key's creator is deactivated" in assert_error(response, 403)
    assert not Job.objects.exists()
    assert ApiKey.objects.get(pk=key.pk).last_used_at == used_at

    creator.is_active = True
    creator.save(update_fields=["is_active"])
    assert post_json(client, "/api/jobs", {"job_type": "x"}, **bearer(secret)).status_code == 201


def test_a_key_without_a_creator_keeps_working(client, writer):
    assert ApiKey.objects.get(name="writer").created_by is None
    assert client.get("/api/jobs", **bearer(writer)).status_code == 200
    assert post_json(client, "/api/jobs", {"job_type": "x"}, **bearer(writer)).status_code == 201


def test_checking_the_creator_costs_only_their_permissions(client, admin_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _, orphan = ApiKey.create("orphan")
    _, owned = ApiKey.create("owned", created_by=make_user("owner", "view_job"))
    _, by_admin = ApiKey.create("by-admin", created_by=admin_user)
    ApiKey.objects.update(last_used_at=timezone.now())  # no last_used_at write either

    def queries(secret):
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/jobs/999999", **bearer(secret)).status_code == 404
        return len(captured)

    # The creator comes with the key; their permissions (user's and groups') are two
    # queries, none for a superuser.
    assert queries(by_admin) == queries(orphan)
    assert queries(owned) <= queries(orphan) + 2


def test_enqueue_options_given_as_null_take_their_defaults(client, writer):
    body = {"job_type": "a", "priority": None, "retry_backoff": None, "tags": None, "queue": None}
    response = post_json(client, "/api/jobs", body, **bearer(writer))
    assert response.status_code == 201
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.priority, job.retry_backoff, job.tags, job.queue) == (
        0,
        "exponential",
        [],
        "default",
    )


def test_the_openapi_description_allows_null_for_every_enqueue_option(client):
    schema = client.get("/api/openapi.json").json()["components"]["schemas"]["Enqueue"]
    for name, prop in schema["properties"].items():
        if name in ("job_type", "payload"):
            continue
        assert "null" in prop["type"], name
        assert "enum" not in prop or None in prop["enum"], name
