"""GET /api/health: public, 200 or 503 with the checks, never cached, nothing secret."""

import pytest
from django.test import Client

from core.insights import health
from core.models import ApiKey
from tests.health import add_worker, due_job, healthy

pytestmark = pytest.mark.django_db

URL = "/api/health"


def test_a_healthy_queue_answers_200_without_login():
    healthy()
    response = Client().get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["ok"] is True
    assert [c["name"] for c in body["checks"]] == list(health.NAMES)


def test_a_failing_check_answers_503_with_the_checks():
    response = Client().get(URL)  # no worker, maintenance never ran
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    failing = {c["name"]: c["message"] for c in body["checks"] if not c["ok"]}
    assert failing["workers"] == "no live worker"


def test_each_check_has_name_ok_message_and_numbers_only():
    healthy()
    for check in Client().get(URL).json()["checks"]:
        assert set(check) == {"name", "ok", "message", "numbers"}
        assert all(isinstance(v, int | float) for v in check["numbers"].values())


def test_the_answer_is_never_cached():
    for prepare in (lambda: None, healthy):
        prepare()
        cache_control = Client().get(URL)["Cache-Control"]
        assert "no-store" in cache_control
        assert "private" in cache_control


def test_the_body_holds_no_host_pid_worker_id_payload_or_connection_string():
    healthy()
    add_worker("db7.internal:31337:abc", stuck=[{"thread": "t1", "job": 3, "silent_seconds": 999}])
    due_job("emails", payload={"token": "s3cret-payload"})
    text = Client().get(URL).content.decode()
    secrets = (
        "secret-host",
        "4242",
        "db7.internal",
        "31337",
        "s3cret-payload",
        "sqlite",
        "postgres",
    )
    assert [secret for secret in secrets if secret in text] == []


def test_a_key_or_a_session_is_not_needed_and_does_not_change_the_answer(staff_client):
    healthy()
    _, secret = ApiKey.create("monitor")
    anonymous = Client().get(URL).json()
    assert staff_client.get(URL).json()["ok"] == anonymous["ok"]
    assert Client().get(URL, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200


def test_only_get_and_head_are_allowed():
    response = Client().post(URL)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_the_openapi_document_describes_the_public_health_route():
    operation = Client().get("/api/openapi.json").json()["paths"]["/health"]["get"]
    assert operation["security"] == []
    assert set(operation["responses"]) >= {"200", "503"}


def test_a_503_is_not_logged_as_a_server_error(caplog):
    with caplog.at_level("WARNING", logger="django.request"):
        assert Client().get(URL).status_code == 503
    assert [r for r in caplog.records if r.name == "django.request"] == []
