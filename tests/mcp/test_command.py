"""manage.py queueadmin_mcp refuses to start with a key it cannot use, or --allow-writes
without a key; and what the key allows, checked at every call (in process)."""

import pytest
from django.core.management import CommandError, call_command

from core.mcp.access import Access, Refused
from tests.mcp.keys import READ_ONLY, READ_WRITE, make_key, make_keys

pytestmark = pytest.mark.django_db


def test_allow_writes_without_a_key_is_refused_at_start(monkeypatch):
    monkeypatch.delenv("QUEUEADMIN_API_KEY", raising=False)
    with pytest.raises(CommandError, match="--allow-writes needs a read-write API key"):
        call_command("queueadmin_mcp", "--allow-writes")


def test_an_unknown_key_in_the_environment_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("QUEUEADMIN_API_KEY", READ_WRITE)
    with pytest.raises(CommandError, match=r"unknown, revoked or expired API key \(from QUEUE"):
        call_command("queueadmin_mcp")


def test_a_revoked_key_given_as_an_option_is_refused_at_start():
    make_key(READ_WRITE, "ops-bot", can_write=True).revoke()
    with pytest.raises(CommandError, match=r"revoked or expired API key \(from --api-key\)"):
        call_command("queueadmin_mcp", "--api-key", READ_WRITE)


def test_writes_without_allow_writes_are_refused_whatever_the_key():
    make_keys()
    with pytest.raises(Refused, match="writes are off"):
        Access(READ_WRITE).write("queueadmin.change_job")


def test_a_read_write_key_with_allow_writes_acts_as_the_key():
    make_keys()
    assert Access(READ_WRITE, allow_writes=True).write("queueadmin.change_job") == (
        "api key ops-bot"
    )


def test_a_read_only_key_may_not_write():
    make_keys()
    with pytest.raises(Refused, match="is read-only"):
        Access(READ_ONLY, allow_writes=True).write("queueadmin.change_job")


def test_a_key_whose_creator_lacks_the_permission_may_not_write(django_user_model):
    staff = django_user_model.objects.create_user("bob", is_staff=True)
    make_key(READ_WRITE, "bob-bot", can_write=True, created_by=staff)
    with pytest.raises(Refused, match=r"its creator lacks queueadmin\.change_job"):
        Access(READ_WRITE, allow_writes=True).write("queueadmin.change_job")


def test_a_key_whose_creator_lacks_the_view_permission_may_not_read(django_user_model):
    staff = django_user_model.objects.create_user("bob", is_staff=True)
    make_key(READ_ONLY, "bob-bot", can_write=False, created_by=staff)
    with pytest.raises(Refused, match=r"its creator lacks queueadmin\.view_worker"):
        Access(READ_ONLY).read("queueadmin.view_worker")
