"""The system check of the EVENT_RETENTION setting."""

import pytest

from core.checks import check_event_retention


@pytest.mark.parametrize("value", [None, 3600, "30d"])
def test_event_retention_accepts_none_or_a_positive_duration(settings, value):
    settings.QUEUEADMIN = {"EVENT_RETENTION": value}
    assert check_event_retention() == []


@pytest.mark.parametrize("value", ["soon", 0, -5, [1]])
def test_event_retention_refuses_anything_else(settings, value):
    settings.QUEUEADMIN = {"EVENT_RETENTION": value}
    (error,) = check_event_retention()
    assert error.id == "queueadmin.E007"
    assert "EVENT_RETENTION" in error.msg
