"""Who may see the dashboard and who may act on it; CSRF and the Content-Security-Policy."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from core import queue
from core.models import Job, JobEvent
from tests.dashboard.conftest import INLINE_SCRIPT
from tests.users import client_for, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer():
    return client_for(make_user("viewer", "view_job", "view_worker"))


@pytest.fixture
def jobs():
    """A failed job (retryable) and a pending job scheduled for later (cancellable,
    editable, can be run now)."""
    failed = queue.enqueue("email.send", {"to": "a@example.com"})
    Job.objects.filter(pk=failed.pk).update(status="failed", attempts=3, failed_at=timezone.now())
    later = queue.enqueue("email.send", run_at=timezone.now() + timedelta(hours=1))
    return Job.objects.get(pk=failed.pk), Job.objects.get(pk=later.pk)


PAGES = [
    "/",
    "/overview/counts/",
    "/overview/metrics/",
    "/jobs/",
    "/jobs/counts/",
    "/jobs/{pk}/",
    "/jobs/{pk}/edit/",
    "/workers/",
    "/jobs/bulk/confirm/",
]


def pages(job_id):
    return [path.format(pk=job_id) for path in PAGES]


def snapshot():
    """Everything an action could change: every job row and every event."""
    return (
        list(Job.objects.order_by("id").values()),
        list(JobEvent.objects.order_by("id").values_list("id", "job_id", "type")),
    )


ACTIONS = [
    "retry",
    "cancel",
    "run_now",
    "bulk-selected",
    "bulk-run",
    "edit",
    "delete-failed",
    "delete-pending",
]


def forged_post(name, failed, later):
    """(url, data) of a dashboard action, aimed at a job where it would succeed."""
    filters = '{"job_type": ["email.send"]}'
    return {
        "retry": (f"/jobs/{failed.pk}/retry/", {}),
        "cancel": (f"/jobs/{later.pk}/cancel/", {}),
        "run_now": (f"/jobs/{later.pk}/run_now/", {}),
        "bulk-selected": ("/jobs/bulk/", {"action": "cancel", "ids": [failed.pk, later.pk]}),
        "bulk-run": (
            "/jobs/bulk/run/",
            {"action": "cancel", "filters": filters, "up_to_id": later.pk, "total": 2},
        ),
        "edit": (
            f"/jobs/{later.pk}/edit/",
            {
                "payload": '{"x": 1}',
                "priority": 50,
                "run_at": "2030-01-01T00:00:00",
                "tags": "forged",
                "max_attempts": 9,
            },
        ),
        "delete-failed": (f"/jobs/{failed.pk}/delete/", {}),
        "delete-pending": (f"/jobs/{later.pk}/delete/", {}),
    }[name]


def csp_directives(response):
    header = response["Content-Security-Policy"]
    return {
        name: value.split()
        for name, _, value in (part.strip().partition(" ") for part in header.split(";"))
        if name
    }


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_users_are_sent_to_the_admin_login_with_next(client, jobs, page):
    path = page.format(pk=jobs[0].pk)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={path}"


def test_non_staff_users_are_sent_to_the_login(jobs):
    client = client_for(make_user("plain", "view_job", "change_job", is_staff=False))
    for path in pages(jobs[0].pk):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/login/?next="), path


def test_inactive_staff_is_sent_to_the_login(jobs):
    user = make_user("gone", "view_job")
    client = client_for(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = client.get("/jobs/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_without_view_permission_get_403(jobs):
    client = client_for(make_user("nobody"))
    for path in pages(jobs[0].pk):
        assert client.get(path).status_code == 403, path


def test_workers_page_needs_view_worker(jobs):
    client = client_for(make_user("jobs-only", "view_job"))
    assert client.get("/jobs/").status_code == 200
    assert client.get("/workers/").status_code == 403


def test_viewer_can_see_every_page_except_edit_and_bulk_confirm(viewer, jobs):
    for path in pages(jobs[0].pk):
        expected = 403 if path.endswith(("/edit/", "/bulk/confirm/")) else 200
        assert viewer.get(path).status_code == expected, path


def test_viewer_sees_the_job_list_without_actions(viewer, jobs):
    failed, later = jobs
    html = viewer.get("/jobs/").content.decode()
    assert f'id="job-{failed.pk}"' in html
    assert f'id="job-{later.pk}"' in html
    assert 'id="bulk-bar"' not in html
    assert 'name="ids"' not in html
    assert 'id="select-all"' not in html
    for action in ("retry", "cancel", "run_now"):
        assert f"/{action}/" not in html
    for label in (">Retry<", ">Cancel<", ">Run now<", "Retry all", "Cancel all"):
        assert label not in html


def test_operator_sees_the_job_list_with_actions(operator, jobs):
    failed, later = jobs
    html = operator.get("/jobs/").content.decode()
    assert 'id="bulk-bar"' in html
    assert f'name="ids" value="{failed.pk}"' in html
    assert f"/jobs/{failed.pk}/retry/" in html
    assert f"/jobs/{later.pk}/cancel/" in html
    assert f"/jobs/{later.pk}/run_now/" in html


@pytest.mark.parametrize("which", [0, 1])
def test_viewer_sees_the_job_page_without_actions(viewer, jobs, which):
    job = jobs[which]
    html = viewer.get(f"/jobs/{job.pk}/").content.decode()
    assert f"#{job.pk}" in html
    for action in ("retry", "cancel", "run_now", "edit", "delete"):
        assert f"/jobs/{job.pk}/{action}/" not in html
    for label in (">Retry<", ">Cancel<", ">Run now<", ">Edit<", ">Delete<"):
        assert label not in html


def test_operator_sees_the_job_page_actions_but_no_delete(operator, jobs):
    failed, later = jobs
    html = operator.get(f"/jobs/{later.pk}/").content.decode()
    for action in ("cancel", "run_now", "edit"):
        assert f"/jobs/{later.pk}/{action}/" in html
    assert f"/jobs/{later.pk}/delete/" not in html
    assert f"/jobs/{failed.pk}/retry/" in operator.get(f"/jobs/{failed.pk}/").content.decode()


@pytest.mark.parametrize("action", ACTIONS)
def test_viewer_forged_posts_get_403_and_change_nothing(viewer, jobs, action):
    url, data = forged_post(action, *jobs)
    before = snapshot()
    response = viewer.post(url, data)
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize(
    "path",
    [
        "/jobs/{pk}/retry/",
        "/jobs/{pk}/cancel/",
        "/jobs/{pk}/run_now/",
        "/jobs/{pk}/delete/",
        "/jobs/bulk/",
        "/jobs/bulk/run/",
    ],
)
def test_get_on_an_action_url_is_405(operator, jobs, path):
    before = snapshot()
    response = operator.get(path.format(pk=jobs[1].pk))
    assert response.status_code == 405
    assert snapshot() == before


def test_change_permission_lets_the_action_through_and_records_the_actor(operator, jobs):
    failed, _ = jobs
    response = operator.post(f"/jobs/{failed.pk}/retry/")
    assert response.status_code == 303
    assert Job.objects.get(pk=failed.pk).status == "pending"
    event = JobEvent.objects.get(job_id=failed.pk, type="retried")
    assert event.metadata["actor"] == "operator"


def test_bulk_action_records_the_actor(operator, jobs):
    _, later = jobs
    operator.post("/jobs/bulk/", {"action": "cancel", "ids": [later.pk]})
    event = JobEvent.objects.get(job_id=later.pk, type="cancelled")
    assert event.metadata["actor"] == "operator"


def test_delete_needs_the_delete_permission(operator, jobs):
    failed, _ = jobs
    assert operator.post(f"/jobs/{failed.pk}/delete/").status_code == 403
    assert Job.objects.filter(pk=failed.pk).exists()


def test_delete_with_the_delete_permission_deletes(jobs):
    failed, _ = jobs
    client = client_for(make_user("admin-op", "view_job", "change_job", "delete_job"))
    html = client.get(f"/jobs/{failed.pk}/").content.decode()
    assert f"/jobs/{failed.pk}/delete/" in html
    response = client.post(f"/jobs/{failed.pk}/delete/")
    assert response.status_code == 303
    assert not Job.objects.filter(pk=failed.pk).exists()


def csrf_client(username="csrf-op"):
    user = make_user(username, "view_job", "change_job", "add_job", "delete_job")
    return client_for(user, enforce_csrf_checks=True)


@pytest.mark.parametrize("action", ACTIONS)
def test_post_without_csrf_token_is_refused(jobs, action):
    client = csrf_client()
    url, data = forged_post(action, *jobs)
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert snapshot() == before


def test_post_with_the_pages_csrf_token_is_accepted(jobs):
    failed, _ = jobs
    client = csrf_client()
    client.get("/jobs/")
    token = client.cookies["csrftoken"].value
    response = client.post(f"/jobs/{failed.pk}/retry/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 303
    assert Job.objects.get(pk=failed.pk).status == "pending"


def test_htmx_requests_carry_the_csrf_token_in_a_header(jobs):
    failed, _ = jobs
    client = csrf_client()
    html = client.get("/jobs/").content.decode()
    token = client.cookies["csrftoken"].value
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    response = client.post(
        f"/jobs/{failed.pk}/retry/",
        {"row": "1"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert Job.objects.get(pk=failed.pk).status == "pending"


def test_every_page_and_fragment_has_a_strict_script_policy(operator, jobs):
    failed, _ = jobs
    responses = [operator.get(path) for path in pages(failed.pk)]
    responses.append(operator.get(f"/jobs/{failed.pk}/", headers={"HX-Request": "true"}))
    for response in responses:
        assert response.status_code == 200, response.request["PATH_INFO"]
        directives = csp_directives(response)
        assert directives["script-src"] == ["'self'"]
        assert "'unsafe-inline'" not in response["Content-Security-Policy"]
        assert "'unsafe-eval'" not in response["Content-Security-Policy"]


def test_redirects_and_refusals_carry_the_policy_too(client, viewer, operator, jobs):
    failed, _ = jobs
    responses = [
        client.get("/jobs/"),  # 302 to the login
        viewer.post(f"/jobs/{failed.pk}/retry/"),  # 403
        operator.get(f"/jobs/{failed.pk}/retry/"),  # 405
        operator.get("/jobs/99999999/"),  # 404
        operator.post(f"/jobs/{failed.pk}/retry/"),  # 303
    ]
    assert [r.status_code for r in responses] == [302, 403, 405, 404, 303]
    for response in responses:
        assert csp_directives(response)["script-src"] == ["'self'"]


def test_pages_have_no_inline_scripts(operator, jobs):
    failed, later = jobs
    for path in ["/", "/jobs/", f"/jobs/{failed.pk}/", f"/jobs/{later.pk}/edit/", "/workers/"]:
        html = operator.get(path).content.decode()
        assert "<script" in html  # htmx and dashboard.js, as files
        assert not INLINE_SCRIPT.search(html), path
        assert not re.search(r"\son[a-z]+\s*=", html), path  # no inline event handlers
        assert "hx-on" not in html, path


def test_an_off_site_next_is_ignored(operator, jobs):
    failed, _ = jobs
    response = operator.post(f"/jobs/{failed.pk}/retry/", {"next": "https://evil.example/phish"})
    assert response.status_code == 303
    assert response["Location"] == f"/jobs/{failed.pk}/"
