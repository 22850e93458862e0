"""Management commands: the demo login of `make run` and enqueue_demo's --base-url."""

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from core.models import Subscription

pytestmark = pytest.mark.django_db


def test_ensure_demo_user_prints_a_login_that_works(settings):
    settings.DEBUG = True
    out = StringIO()
    call_command("ensure_demo_user", stdout=out)
    username, password = re.search(r"username '(.+)', password '(.+)'", out.getvalue()).groups()
    user = authenticate(username=username, password=password)
    assert user is not None
    assert user.is_superuser


def test_ensure_demo_user_resets_the_password_on_each_run(settings):
    settings.DEBUG = True
    first, second = StringIO(), StringIO()
    call_command("ensure_demo_user", stdout=first)
    call_command("ensure_demo_user", stdout=second)
    old = re.search(r"password '(.+)'", first.getvalue()).group(1)
    assert authenticate(username="demo", password=old) is None


def test_ensure_demo_user_is_refused_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="development only"):
        call_command("ensure_demo_user")


def test_enqueue_demo_pushes_to_the_hook_under_base_url():
    call_command("enqueue_demo", "--base-url", "http://localhost:8765/", stdout=StringIO())
    assert Subscription.objects.get().endpoint == "http://localhost:8765/examples/hook/"


def test_enqueue_demo_pushes_to_make_runs_address_by_default():
    call_command("enqueue_demo", stdout=StringIO())
    assert Subscription.objects.get().endpoint == "http://127.0.0.1:8000/examples/hook/"


def test_enqueue_demo_refuses_a_base_url_that_is_not_http():
    with pytest.raises(CommandError, match="must be an http:// or https:// URL"):
        call_command("enqueue_demo", "--base-url", "localhost:8000", stdout=StringIO())
