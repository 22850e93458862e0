"""A fuzz run of the JSON API from its own OpenAPI description (schemathesis).

Every operation gets generated valid and invalid inputs, sent with a
read-write key to the WSGI application in this process; no answer may be a
server error, and every answer must keep to the description: a documented
status code, content type and body schema; invalid input must be refused with
a 4xx, and no operation may ignore its authentication.

Not checked: that every schema-valid request is accepted, because some rules
span fields and are not expressible in the description ("From" before "To";
run_at or delay, not both); those are refused with a 400 that says so.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from core import queue
from core.api.openapi import document
from core.models import ApiKey

pytestmark = pytest.mark.django_db

schema = schemathesis.openapi.from_dict(document("http://localhost/api/"))
schema.app = get_wsgi_application()


@pytest.fixture
def secret(db):
    # Like Django's test client: keep the test's connection (and its
    # transaction) open across the requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    queue.enqueue("fuzz.target", {"n": 1})
    try:
        yield ApiKey.create("fuzzer", can_write=True)[1]
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("API_FUZZ_EXAMPLES", "40")),
    # The suite's run is the same every time; API_FUZZ_EXAMPLES=300 explores anew.
    derandomize="API_FUZZ_EXAMPLES" not in os.environ,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_never_fails_and_keeps_to_its_description(case, secret):
    excluded = [schemathesis.checks.positive_data_acceptance]
    if case.operation.path == "/health":
        # Its 503 (a failing check: no worker runs here) is an answer, not a server error.
        excluded.append(schemathesis.checks.not_a_server_error)
    case.call_and_validate(headers={"Authorization": f"Bearer {secret}"}, excluded_checks=excluded)


def test_the_served_description_is_the_one_fuzzed(client):
    served = client.get("/api/openapi.json").json()
    assert served["paths"] == document("http://localhost/api/")["paths"]
