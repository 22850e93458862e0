"""The job page's timeline shows ``progress`` events as a percentage."""

import pytest

from core import queue
from core.models import EventType, JobEvent
from tests.users import client_for, make_user

pytestmark = pytest.mark.django_db


def test_the_timeline_shows_a_progress_event_as_its_percentage():
    job = queue.enqueue("x")
    JobEvent.objects.create(job=job, type=EventType.PROGRESS, metadata={"progress": 40})
    operator = client_for(make_user("operator", "view_job"))
    html = operator.get(f"/jobs/{job.pk}/").content.decode()
    timeline = html[html.index('id="job-events"') :]
    assert '<strong>progress</strong> <span class="progress-value">40%</span>' in timeline
