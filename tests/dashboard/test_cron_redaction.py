"""Cron schedules with REDACT set: their payloads are shown as ••• on the Cron page, its edit
form and the admin, and a kept mask keeps the stored value."""

import pytest
from django.urls import reverse

from core.models import CronSchedule
from tests.dashboard.test_cron import edit_data
from tests.records import schedule

pytestmark = pytest.mark.django_db

SECRET = {"user": {"email": "ann@example.com", "name": "Ann"}, "password": "s3cret"}


@pytest.fixture(autouse=True)
def redact(settings):
    settings.QUEUEADMIN = {"REDACT": ["Email", "password"]}


def test_cron_page_shows_redacted_payload_values_as_dots(staff_client):
    schedule(payload=SECRET)
    html = staff_client.get("/cron/").content.decode()
    assert "&quot;password&quot;: &quot;•••&quot;" in html
    assert "s3cret" not in html
    assert "ann@example.com" not in html


def test_cron_edit_form_shows_redacted_values_as_dots(staff_client):
    s = schedule(payload=SECRET)
    html = staff_client.get(f"/cron/{s.pk}/edit/").content.decode()
    assert "&quot;password&quot;: &quot;•••&quot;" in html
    assert "s3cret" not in html
    assert "ann@example.com" not in html


def test_saving_a_schedule_with_the_masks_kept_keeps_the_real_values(staff_client):
    s = schedule(payload=SECRET)
    payload = '{"user": {"email": "•••", "name": "Bob"}, "password": "•••"}'
    response = staff_client.post(f"/cron/{s.pk}/edit/", edit_data(s, payload=payload))
    assert response.status_code == 303
    assert CronSchedule.objects.get(pk=s.pk).payload == {
        "user": {"email": "ann@example.com", "name": "Bob"},
        "password": "s3cret",
    }


def test_a_schedule_mask_with_nothing_stored_behind_it_is_refused(staff_client):
    s = schedule(payload=SECRET)
    payload = '{"user": {"email": "•••"}, "password": "•••", "api": {"password": "•••"}}'
    response = staff_client.post(f"/cron/{s.pk}/edit/", edit_data(s, payload=payload))
    assert response.status_code == 200
    assert "Api.password holds •••" in response.content.decode()  # beside the payload field
    assert CronSchedule.objects.get(pk=s.pk).payload == SECRET


def test_admin_schedule_page_shows_redacted_payload_values_as_dots(staff_client):
    s = schedule(payload=SECRET)
    url = reverse("admin:queueadmin_cronschedule_change", args=[s.pk])
    html = staff_client.get(url).content.decode()
    assert "s3cret" not in html
    assert "ann@example.com" not in html
    assert "•••" in html
