"""System checks: a project missing what queueadmin needs hears it from `manage.py check`."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from core import checks

OUR_BACKEND = {"BACKEND": "core.backend.QueueBackend"}


def ids(messages) -> list[str]:
    return [message.id for message in messages]


def test_this_projects_settings_pass_every_check():
    assert checks.check_htmx() == []
    assert checks.check_settings() == []
    assert checks.check_tasks() == []


def test_missing_django_htmx_app_is_an_error_with_a_hint():
    apps = [app for app in settings.INSTALLED_APPS if app != "django_htmx"]
    with override_settings(INSTALLED_APPS=apps):
        [error] = checks.check_htmx()
    assert error.id == "queueadmin.E001"
    assert '"django_htmx"' in error.hint


def test_missing_htmx_middleware_is_an_error_with_a_hint():
    middleware = [m for m in settings.MIDDLEWARE if "htmx" not in m]
    with override_settings(MIDDLEWARE=middleware):
        [error] = checks.check_htmx()
    assert error.id == "queueadmin.E002"
    assert "django_htmx.middleware.HtmxMiddleware" in error.hint


def test_a_mistyped_queueadmin_key_is_named_with_the_key_it_resembles():
    with override_settings(QUEUEADMIN={"LEASE_SECOND": 60, "POLL_INTERVAL": 1}):
        [error] = checks.check_settings()
    assert error.id == "queueadmin.E004"
    assert "'LEASE_SECOND'" in error.msg
    assert error.hint == "Did you mean 'LEASE_SECONDS'?"


def test_an_unknown_queueadmin_key_lists_the_known_ones():
    with override_settings(QUEUEADMIN={"FAVOURITE_COLOUR": "blue"}):
        [error] = checks.check_settings()
    assert error.id == "queueadmin.E004"
    assert "LEASE_SECONDS" in error.hint


def test_a_queueadmin_setting_that_is_not_a_dict_is_an_error():
    with override_settings(QUEUEADMIN=[("LEASE_SECONDS", 60)]):
        assert ids(checks.check_settings()) == ["queueadmin.E003"]


@pytest.mark.parametrize(
    "entry",
    [
        {**OUR_BACKEND, "OPTIONS": {"max_attempts": 5}},
        {**OUR_BACKEND, "QUEUE": ["default"]},
        {"BACKEND": "core.jobs.tasks.QueueBackend", "OPTIONS": {"timeout": 5}},
    ],
)
def test_options_the_backend_does_not_take_are_an_error(entry):
    with override_settings(TASKS={"default": entry}):
        [error] = checks.check_tasks()
    assert error.id == "queueadmin.E005"
    assert "@task(" in error.hint


def test_queues_and_empty_options_are_accepted():
    entry = {**OUR_BACKEND, "QUEUES": ["default", "mail"], "OPTIONS": {}}
    with override_settings(TASKS={"default": entry}):
        assert checks.check_tasks() == []


def test_tasks_without_queueadmins_backend_say_tasks_run_elsewhere():
    immediate = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    with override_settings(TASKS=immediate):
        [info] = checks.check_tasks()
    assert info.id == "queueadmin.I001"
    assert "core.backend.QueueBackend" in info.hint


@pytest.mark.django_db
def test_manage_py_check_fails_on_an_error():
    with (
        override_settings(QUEUEADMIN={"LEASE_SECOND": 60}),
        pytest.raises(SystemCheckError, match=r"queueadmin\.E004"),
    ):
        call_command("check")
