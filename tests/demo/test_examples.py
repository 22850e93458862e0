"""The example page /examples/progress/ and its start endpoint (Django test client)."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from core.models import Job, JobStatus
from tests.users import client_for, make_user

pytestmark = pytest.mark.django_db

PAGE = "/examples/progress/"
START = "/examples/progress/start/"


@pytest.fixture
def client(db):
    """Logged in as a staff user holding queueadmin.add_job: what the example pages need."""
    return client_for(make_user("visitor", "add_job"))


def test_page_sends_anonymous_visitors_to_the_login():
    for url in (PAGE, START):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/admin/login/?next={url}"


def test_page_sends_inactive_users_to_the_login():
    user = User.objects.create_user("gone", is_active=False)
    assert client_for(user).get(PAGE).status_code == 302


@pytest.mark.parametrize(
    ("codenames", "is_staff"),
    [
        ((), True),  # staff without queueadmin.add_job
        (("view_job", "change_job"), True),  # staff with other permissions only
        ((), False),  # an active user without staff status
        (("add_job",), False),  # not staff, even with queueadmin.add_job
    ],
)
def test_page_and_start_are_403_without_staff_status_and_add_job(codenames, is_staff):
    client = client_for(make_user("visitor", *codenames, is_staff=is_staff))

    assert client.get(PAGE).status_code == 403
    response = client.post(START, {"steps": "2", "step_seconds": "0"})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["status"] == 403
    assert "queueadmin.add_job" in error["message"]
    assert client.get(START).status_code == 403  # refused before the method is looked at
    assert not Job.objects.exists()


def test_a_superuser_may_use_the_page():
    client = client_for(User.objects.create_superuser("root", "root@example.com", None))
    assert client.get(PAGE).status_code == 200
    assert client.post(START, {"steps": "1", "step_seconds": "0"}).status_code == 201


def test_page_includes_progress_js_and_its_example_script_without_inline_code(client):
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<script src="/static/queueadmin/progress.js" defer></script>' in html
    assert '<script src="/static/queueadmin_demo/progress-example.js" defer></script>' in html
    assert "<script>" not in html
    assert " style=" not in html
    assert '<meta name="csrf-token" content="' in html
    assert '<progress id="job-progress" max="100" value="0"' in html
    assert 'action="/examples/progress/start/"' in html
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_start_enqueues_demo_slow_and_answers_a_working_status_url(client):
    response = client.post(START, {"steps": "5", "step_seconds": "0.3"})

    assert response.status_code == 201
    body = response.json()
    job = Job.objects.get(pk=body["job_id"])
    assert (job.job_type, job.payload, job.status) == (
        "demo.slow",
        {"steps": 5, "step_seconds": 0.3},
        JobStatus.PENDING,
    )
    assert body["status_url"] == f"http://testserver{job.status_url}"

    status = client.get(body["status_url"])
    assert status.status_code == 200
    assert status["Access-Control-Allow-Origin"] == "*"
    assert status.json() | {"updated_at": None} == {
        "status": "pending",
        "progress": 0,
        "output": None,
        "error": None,
        "updated_at": None,
        "finished": False,
    }


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"steps": "0", "step_seconds": "1"}, "steps"),
        ({"steps": "51", "step_seconds": "1"}, "steps"),
        ({"steps": "two", "step_seconds": "1"}, "steps"),
        ({"step_seconds": "1"}, "steps"),
        ({"steps": "3", "step_seconds": "5.5"}, "step_seconds"),
        ({"steps": "3", "step_seconds": "-1"}, "step_seconds"),
        ({"steps": "3", "step_seconds": "nan"}, "step_seconds"),
    ],
)
def test_start_refuses_bad_input_with_a_json_400_and_enqueues_nothing(client, data, field):
    response = client.post(START, data)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == 400
    assert error["message"].startswith(f"{field}: ")
    assert not Job.objects.exists()


def test_start_accepts_the_bounds(client):
    assert client.post(START, {"steps": "1", "step_seconds": "0"}).status_code == 201
    assert client.post(START, {"steps": "50", "step_seconds": "5"}).status_code == 201
    assert Job.objects.count() == 2


def test_get_on_start_is_405_and_enqueues_nothing(client):
    response = client.get(START)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["error"]["status"] == 405
    assert not Job.objects.exists()


def test_start_needs_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("visitor", "add_job"))
    data = {"steps": "2", "step_seconds": "0"}

    assert client.post(START, data).status_code == 403
    page = client.get(PAGE)
    token = page.content.decode().split('name="csrf-token" content="')[1].split('"')[0]
    assert client.post(START, data, headers={"X-CSRFToken": token}).status_code == 201
    assert Job.objects.count() == 1
