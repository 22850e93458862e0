"""Django admin for the job statistics (JobStat, JobStatHour): read-only lists filtered
by queue and job type."""

from datetime import UTC, datetime

import pytest

from core.models import JobStat, JobStatHour
from tests.users import staff_with

pytestmark = pytest.mark.django_db

MINUTES = "/admin/queueadmin/jobstat/"
HOURS = "/admin/queueadmin/jobstathour/"
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def viewer():
    return staff_with("view_jobstat", "view_jobstathour", "add_jobstat", "change_jobstat")


def test_the_minutes_list_filters_by_queue_and_job_type(viewer):
    JobStat.objects.create(minute=AT, queue="mail", job_type="mail.send", completed=4)
    JobStat.objects.create(minute=AT, queue="reports", job_type="report.build", completed=1)
    html = viewer.get(MINUTES, {"queue": "mail"}).content.decode()
    assert "mail.send" in html
    assert "report.build" not in html.split('id="result_list"')[1]
    html = viewer.get(MINUTES, {"job_type": "report.build"}).content.decode()
    assert "mail.send" not in html.split('id="result_list"')[1]


def test_the_hours_list_shows_its_rows(viewer):
    JobStatHour.objects.create(hour=AT, queue="mail", job_type="mail.send", completed=40)
    response = viewer.get(HOURS)
    assert response.status_code == 200
    assert "mail.send" in response.content.decode()


def test_statistics_cannot_be_added_or_changed(viewer):
    row = JobStat.objects.create(minute=AT, queue="mail", job_type="mail.send", completed=4)
    assert viewer.get(f"{MINUTES}add/").status_code == 403
    response = viewer.post(f"{MINUTES}{row.pk}/change/", {"completed": "99"})
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.completed == 4
