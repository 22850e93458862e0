"""The job page and its edit form with REDACT set: values shown as •••, never written back."""

import pytest

from core import queue
from core.models import Job, JobEvent

pytestmark = pytest.mark.django_db

SECRET = {"user": {"email": "ann@example.com", "name": "Ann"}, "password": "s3cret"}


@pytest.fixture(autouse=True)
def redact(settings):
    settings.QUEUEADMIN = {"REDACT": ["Email", "password"]}


def test_job_page_shows_redacted_payload_values_as_dots(operator):
    job = queue.enqueue("x", SECRET)
    html = operator.get(f"/jobs/{job.pk}/").content.decode()
    assert "&quot;email&quot;: &quot;•••&quot;" in html
    assert "&quot;password&quot;: &quot;•••&quot;" in html
    assert "Ann" in html
    assert "ann@example.com" not in html
    assert "s3cret" not in html


def test_job_page_shows_redacted_output_and_step_data_as_dots(operator):
    job = queue.enqueue("x")
    Job.objects.filter(pk=job.pk).update(
        output={"password": "out-secret"}, step_data={"login": {"password": "step-secret"}}
    )
    html = operator.get(f"/jobs/{job.pk}/").content.decode()
    assert "out-secret" not in html
    assert "step-secret" not in html
    assert html.count("&quot;password&quot;: &quot;•••&quot;") == 2


def test_job_page_redacts_an_edit_events_before_and_after(operator):
    job = queue.enqueue("x", {"password": "old-secret"})
    queue.edit_job(job.pk, payload={"password": "new-secret"})
    html = operator.get(f"/jobs/{job.pk}/").content.decode()
    assert "old-secret" not in html
    assert "new-secret" not in html
    assert JobEvent.objects.get(job=job).metadata["changes"]["payload"]["to"] == {
        "password": "new-secret"
    }


def test_edit_form_shows_redacted_values_as_dots(operator):
    job = queue.enqueue("x", SECRET)
    html = operator.get(f"/jobs/{job.pk}/edit/").content.decode()
    assert "s3cret" not in html
    assert "ann@example.com" not in html
    assert "&quot;password&quot;: &quot;•••&quot;" in html


def edit(client, job, **data):
    form = client.get(f"/jobs/{job.pk}/edit/").context["form"]
    values = {name: form[name].value() for name in form.fields}
    values["run_at"] = form["run_at"].value().strftime("%Y-%m-%dT%H:%M:%S")
    values.update(data)
    return client.post(f"/jobs/{job.pk}/edit/", values)


def test_saving_the_edit_form_without_touching_the_payload_keeps_the_real_values(operator):
    job = queue.enqueue("x", SECRET)
    assert edit(operator, job, priority="9").status_code == 303
    job.refresh_from_db()
    assert (job.priority, job.payload) == (9, SECRET)


def test_editing_other_payload_keys_keeps_the_masked_values(operator):
    job = queue.enqueue("x", SECRET)
    payload = '{"user": {"email": "•••", "name": "Bob"}, "password": "•••"}'
    assert edit(operator, job, payload=payload).status_code == 303
    job.refresh_from_db()
    assert job.payload == {
        "user": {"email": "ann@example.com", "name": "Bob"},
        "password": "s3cret",
    }


def test_typing_a_new_value_over_the_mask_replaces_it(operator):
    job = queue.enqueue("x", SECRET)
    payload = '{"user": {"email": "bob@example.com", "name": "Ann"}, "password": "•••"}'
    edit(operator, job, payload=payload)
    job.refresh_from_db()
    assert job.payload["user"]["email"] == "bob@example.com"
    assert job.payload["password"] == "s3cret"


def test_a_mask_with_no_stored_value_behind_it_is_refused(operator):
    job = queue.enqueue("x", SECRET)
    payload = '{"user": {"email": "•••"}, "password": "•••", "api": {"password": "•••"}}'
    response = edit(operator, job, payload=payload)
    assert response.status_code == 200
    assert "api.password holds •••" in response.content.decode()
    job.refresh_from_db()
    assert job.payload == SECRET
