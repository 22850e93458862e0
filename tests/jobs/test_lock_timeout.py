"""A job's own lock time (``lock_timeout``): set at enqueue, through the API and the
"New job" form, refused when it is not a positive duration."""

import pytest

from core import queue
from core.exceptions import InvalidJobError
from core.models import ApiKey, Job
from tests.api.test_api import bearer, post_json
from tests.users import client_for, make_user

pytestmark = pytest.mark.django_db


def test_enqueue_stores_the_lock_timeout_from_a_duration_string():
    assert queue.enqueue("x", lock_timeout="2m").lock_timeout == 120.0
    assert Job.objects.get().lock_timeout == 120.0


def test_enqueue_many_stores_each_lock_timeout():
    jobs = queue.enqueue_many([{"job_type": "x", "lock_timeout": 5}, {"job_type": "x"}])
    assert [Job.objects.get(pk=j.pk).lock_timeout for j in jobs] == [5.0, None]


@pytest.mark.parametrize("value", [0, -1, "soon"])
def test_enqueue_refuses_a_lock_timeout_that_is_not_a_positive_duration(value):
    with pytest.raises(InvalidJobError, match="lock_timeout"):
        queue.enqueue("x", lock_timeout=value)
    assert not Job.objects.exists()


def test_the_api_enqueues_with_a_lock_timeout(client):
    secret = ApiKey.create("writer", can_write=True)[1]
    body = {"job_type": "x", "lock_timeout": "90s"}
    response = post_json(client, "/api/jobs", body, **bearer(secret))
    assert response.status_code == 201
    assert Job.objects.get().lock_timeout == 90.0


def test_the_new_job_form_enqueues_with_a_lock_timeout():
    adder = client_for(make_user("adder", "view_job", "add_job"))
    response = adder.post("/jobs/new/", {"job_type": "x", "lock_timeout": "5m"})
    assert response.status_code == 303
    assert Job.objects.get().lock_timeout == 300.0
