"""core.jobs.redaction and the REDACT setting: what is masked, what an edit keeps, the check."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from core import checks, queue
from core.exceptions import InvalidJobError
from core.jobs.redaction import MASK, redact, redacted_keys, restore
from core.models import Job
from tests.workers import run_burst

KEYS = frozenset({"password", "email"})


def test_redact_masks_the_named_keys_at_any_depth_in_objects_and_lists():
    payload = {
        "user": {"Email": "a@example.com", "name": "Ann"},
        "recipients": [{"EMAIL": "b@example.com"}, {"email": {"nested": "c"}}],
        "password": "s3cret",
        "count": 2,
    }
    assert redact(payload, KEYS) == {
        "user": {"Email": MASK, "name": "Ann"},
        "recipients": [{"EMAIL": MASK}, {"email": MASK}],
        "password": MASK,
        "count": 2,
    }


def test_redact_leaves_the_value_it_is_given_unchanged():
    payload = {"password": "s3cret"}
    redact(payload, KEYS)
    assert payload == {"password": "s3cret"}


@pytest.mark.parametrize("value", [None, 3, "password", ["password"], {"other": 1}])
def test_redact_leaves_values_without_named_keys_alone(value):
    assert redact(value, KEYS) == value


def test_redacted_keys_come_from_the_setting_lower_cased(settings):
    settings.QUEUEADMIN = {"REDACT": ["Password", "API_KEY"]}
    assert redacted_keys() == {"password", "api_key"}


def test_redacted_keys_default_to_none(settings):
    settings.QUEUEADMIN = {}
    assert redacted_keys() == frozenset()
    assert redact({"password": "x"}) == {"password": "x"}


def test_redacted_keys_refuse_a_setting_of_the_wrong_type(settings):
    settings.QUEUEADMIN = {"REDACT": "password"}
    with pytest.raises(ImproperlyConfigured, match="must be a list of payload key names"):
        redact({"password": "x"})


def test_restore_keeps_the_stored_value_where_the_mask_is_left():
    stored = {"password": "s3cret", "user": [{"email": "a@example.com"}], "n": 1}
    edited = {"password": MASK, "user": [{"email": MASK}], "n": 2}
    assert restore(edited, stored, KEYS) == {
        "password": "s3cret",
        "user": [{"email": "a@example.com"}],
        "n": 2,
    }


def test_restore_takes_a_newly_typed_value():
    stored = {"password": "old"}
    assert restore({"password": "new"}, stored, KEYS) == {"password": "new"}


def test_restore_refuses_a_mask_with_no_stored_value_behind_it():
    with pytest.raises(InvalidJobError, match=r"payload: token\.password holds •••"):
        restore({"token": {"password": MASK}}, {"token": {}}, KEYS)


# -- the system check -----------------------------------------------------------------------


def test_a_valid_redact_setting_passes_the_check():
    with override_settings(QUEUEADMIN={"REDACT": ["password", "email"]}):
        assert checks.check_redact() == []


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("password", "must be a list of payload key names, not str"),
        ({"password": True}, "must be a list of payload key names, not dict"),
        (["password", 3], "must hold non-empty strings (key names), got 3"),
        (["password", " "], "must hold non-empty strings (key names), got ' '"),
    ],
)
@pytest.mark.django_db
def test_a_redact_setting_of_the_wrong_type_is_an_error_at_startup(value, text):
    with override_settings(QUEUEADMIN={"REDACT": value}):
        [error] = checks.check_redact()
        with pytest.raises(SystemCheckError, match=r"queueadmin\.E006"):
            call_command("check")
    assert error.id == "queueadmin.E006"
    assert text in error.msg
    assert '"REDACT"' in error.hint


# -- handlers ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_handlers_get_the_real_values(settings):
    settings.QUEUEADMIN = {"REDACT": ["password"]}
    job = queue.enqueue("test.echo", {"user": {"password": "s3cret"}})
    run_burst()
    assert Job.objects.get(pk=job.pk).output == {"user": {"password": "s3cret"}}
