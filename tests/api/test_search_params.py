"""GET /api/jobs searching inside jobs: payload, output and errors by containment and
by key-path parameters, the latest error's text, the worker filter, and 400s for bad
ones; and the OpenAPI document describing them."""

import pytest
from django.test import Client

from core import queue
from core.models import ApiKey, Job, JobStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    secret = ApiKey.create("reader")[1]
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def orders():
    return {
        "ann": queue.enqueue("order", {"customer": {"id": 42}, "plan": "pro"}),
        "bob": queue.enqueue("order", {"customer": {"id": 7}, "plan": "pro"}),
        "text": queue.enqueue("order", {"customer": {"id": "42"}}),
    }


def found(response):
    assert response.status_code == 200, response.content
    return sorted(job["id"] for job in response.json()["jobs"])


def error_of(response):
    assert response.status_code == 400
    return response.json()["error"]["message"]


def test_list_filters_by_payload_containment(api, orders):
    response = api.get("/api/jobs", {"payload": '{"customer": {"id": 42}}'})
    assert found(response) == [orders["ann"].pk]


def test_list_filters_by_a_payload_key_path_parameter(api, orders):
    assert found(api.get("/api/jobs", {"payload.customer.id": "7"})) == [orders["bob"].pk]


def test_list_key_path_parameter_reads_a_quoted_value_as_a_string(api, orders):
    assert found(api.get("/api/jobs", {"payload.customer.id": '"42"'})) == [orders["text"].pk]


def test_list_key_path_parameters_must_all_hold(api, orders):
    response = api.get("/api/jobs", {"payload.plan": "pro", "payload.customer.id": "42"})
    assert found(response) == [orders["ann"].pk]


def test_list_filters_by_output_and_errors(api, orders):
    Job.objects.filter(pk=orders["ann"].pk).update(output={"invoice": 3})
    Job.objects.filter(pk=orders["bob"].pk).update(
        errors=[{"type": "TimeoutError", "message": "took too long"}]
    )
    assert found(api.get("/api/jobs", {"output.invoice": "3"})) == [orders["ann"].pk]
    assert found(api.get("/api/jobs", {"errors": '{"type": "TimeoutError"}'})) == [orders["bob"].pk]
    assert found(api.get("/api/jobs", {"errors.type": "TimeoutError"})) == [orders["bob"].pk]
    assert found(api.get("/api/jobs", {"error": "TOO LONG"})) == [orders["bob"].pk]


def test_list_filters_by_worker(api, orders):
    Job.objects.filter(pk=orders["bob"].pk).update(status=JobStatus.PROCESSING, locked_by="w-9")
    assert found(api.get("/api/jobs", {"worker": "w-9"})) == [orders["bob"].pk]


def test_list_takes_search_terms_in_q(api, orders):
    assert found(api.get("/api/jobs", {"q": "payload.customer.id=42"})) == [orders["ann"].pk]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"payload": "{oops"}, "payload: Not JSON"),
        ({"payload": "42"}, "payload: must be a JSON object"),
        ({"payload": "x" * 4001}, "payload: "),
        ({"payload..id": "1"}, "empty segment"),
        ({"payload.a": "1", "payload.a.b": "2"}, "overlap"),
        ({"errors": "[1]"}, "errors: must be a JSON object"),
        ({"payloads.a": "1"}, "unknown parameter payloads.a"),
        ({"q": "payload.a=1 junk"}, "cannot read"),
    ],
)
def test_list_refuses_bad_searches_with_a_400(api, orders, params, message):
    assert message in error_of(api.get("/api/jobs", params))


def test_openapi_documents_the_search_parameters(client):
    operation = client.get("/api/openapi.json").json()["paths"]["/jobs"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert {"payload", "output", "errors", "error", "worker", "paths"} <= set(parameters)
    paths = parameters["paths"]
    assert (paths["style"], paths["explode"], paths["schema"]["type"]) == ("form", True, "object")
    assert "payload.customer.id=42" in paths["description"]
