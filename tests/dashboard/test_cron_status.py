"""The Cron page's status tabs: all, active, paused."""

import pytest

from core.scheduling import cron
from tests.records import schedule
from tests.users import client_for, make_user

pytestmark = pytest.mark.django_db


def _names(html: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split('class="cron-row" data-name="')[1:]]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("", ["a", "b"]),
        ("?status=active", ["a"]),
        ("?status=paused", ["b"]),
        ("?status=x", ["a", "b"]),
    ],
)
def test_the_cron_page_lists_the_schedules_of_the_chosen_status(query, names):
    schedule("a")
    schedule("b")
    cron.pause_cron("b")
    viewer = client_for(make_user("viewer", "view_cronschedule"))
    response = viewer.get(f"/cron/{query}")
    assert response.status_code == 200
    assert _names(response.content.decode()) == names
