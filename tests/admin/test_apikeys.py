"""Django admin for API keys: create (the secret shown once), list, filter, search, revoke."""

import logging
import re
from datetime import timedelta

import pytest
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from core.admin.apikeys import ApiKeyForm
from core.models import ApiKey
from core.models.apikeys import hash_key
from tests.users import client_for, make_user

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/queueadmin/apikey/"
ADD = "/admin/queueadmin/apikey/add/"
ONCE_TEXT = "Copy it now, it will not be shown again."


@pytest.fixture
def superuser():
    return get_user_model().objects.create_superuser("ops", "ops@example.com", None)


@pytest.fixture
def staff_client(client, superuser):
    client.force_login(superuser)
    return client


def change_url(key) -> str:
    return reverse("admin:queueadmin_apikey_change", args=[key.pk])


def add(client, **fields):
    data = {"name": "nightly-report", "expires_at_0": "", "expires_at_1": "", **fields}
    return client.post(ADD, data)


def shown_secret(response) -> str:
    match = re.search(r"<code>(qa_[A-Za-z0-9_-]+)</code>", response.content.decode())
    assert match, "no secret shown"
    return match.group(1)


def test_urls_are_the_usual_ones():
    assert reverse("admin:queueadmin_apikey_changelist") == CHANGELIST
    assert reverse("admin:queueadmin_apikey_add") == ADD


def test_add_form_asks_only_for_name_access_and_expiry(staff_client):
    html = staff_client.get(ADD).content.decode()
    for name in ("name", "can_write", "expires_at_0", "expires_at_1"):
        assert f'name="{name}"' in html, name
    for name in ("key_hash", "prefix", "created_by", "revoked_at", "last_used_at"):
        assert f'name="{name}"' not in html, name
    assert 'name="_save"' in html
    assert 'name="_continue"' not in html
    assert 'name="_addanother"' not in html


def test_add_creates_a_key_and_shows_its_secret_once(staff_client, superuser, caplog):
    with caplog.at_level(logging.INFO, logger="queueadmin.api"):
        response = add(staff_client, can_write="on")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = shown_secret(response)
    key = ApiKey.objects.get()
    shown = [m for m in response.context["messages"]]
    assert len(shown) == 1
    assert shown[0].level == messages.WARNING
    assert secret in str(shown[0])
    assert ONCE_TEXT in str(shown[0])
    html = response.content.decode()
    assert f'curl -H "Authorization: Bearer {secret}" http://testserver/api/jobs' in html
    assert f'href="{change_url(key)}"' in html
    # Stored: the hash only, plus the prefix in clear.
    assert key.name == "nightly-report"
    assert key.can_write is True
    assert key.created_by == superuser
    assert key.key_hash == hash_key(secret)
    assert secret.startswith(key.prefix)
    row = ApiKey.objects.values().get()
    assert all(secret not in str(value) for value in row.values())
    assert ApiKey.authenticate(secret) == key
    # Never parked in a cookie or the session waiting for a redirect, never shown again.
    assert all(secret not in morsel.value for morsel in response.cookies.values())
    assert secret not in str(dict(staff_client.session.items()))
    for url in (CHANGELIST, change_url(key), "/admin/"):
        assert secret not in staff_client.get(url).content.decode()
    lines = [r.getMessage() for r in caplog.records if r.name == "queueadmin.api"]
    assert len(lines) == 1
    assert "created by ops" in lines[0]
    assert secret not in lines[0]


def test_add_with_an_expiry_in_the_past_creates_nothing(staff_client):
    past = timezone.localtime() - timedelta(days=1)
    response = add(
        staff_client,
        expires_at_0=past.strftime("%Y-%m-%d"),
        expires_at_1=past.strftime("%H:%M:%S"),
    )
    assert response.status_code == 200
    assert "The expiry must lie in the future." in response.content.decode()
    assert not ApiKey.objects.exists()


def test_add_with_an_expiry_in_the_future_saves_it(staff_client):
    later = timezone.localtime() + timedelta(days=30)
    add(
        staff_client,
        expires_at_0=later.strftime("%Y-%m-%d"),
        expires_at_1=later.strftime("%H:%M:%S"),
    )
    expires = ApiKey.objects.get().expires_at
    assert abs((expires - later).total_seconds()) < 1


def test_add_needs_the_add_permission():
    client = client_for(make_user("viewer", "view_apikey"))
    assert client.get(ADD).status_code == 403
    assert add(client).status_code == 403
    assert not ApiKey.objects.exists()


def test_changelist_shows_the_columns_filters_and_search(staff_client, superuser):
    key, secret = ApiKey.create("deployer", can_write=True, created_by=superuser)
    revoked, _ = ApiKey.create("old")
    revoked.revoke()
    ApiKey.create("temp", expires_at=timezone.now() - timedelta(hours=1))
    response = staff_client.get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    for column in (
        "name",
        "prefix_text",
        "access",
        "created_by",
        "created_at",
        "last_used_at",
        "expires_at",
        "state",
    ):
        assert f"column-{column}" in html, column
    assert f"{key.prefix}…" in html
    assert "read-write" in html
    assert "read-only" in html
    assert "<strong>revoked</strong>" in html
    assert "<strong>expired</strong>" in html
    assert secret not in html
    assert key.key_hash not in html
    for parameter in ("can_write__exact=1", "revoked=yes", "revoked=no", "expired=yes"):
        assert f"?{parameter}" in html, parameter
    assert "Revoke selected keys" in html
    assert 'name="q"' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"revoked": "yes"}, {"old"}),
        ({"revoked": "no"}, {"deployer", "temp"}),
        ({"expired": "yes"}, {"temp"}),
        ({"expired": "no"}, {"deployer", "old"}),
        ({"can_write__exact": "1"}, {"deployer"}),
        ({"can_write__exact": "0"}, {"old", "temp"}),
    ],
)
def test_filters(staff_client, query, expected):
    ApiKey.create("deployer", can_write=True)
    ApiKey.create("old")[0].revoke()
    ApiKey.create("temp", expires_at=timezone.now() - timedelta(hours=1))
    response = staff_client.get(CHANGELIST, query)
    assert {key.name for key in response.context["cl"].result_list} == expected


@pytest.mark.parametrize("by", ["name", "prefix"])
def test_search_by_name_or_prefix(staff_client, by):
    target, _ = ApiKey.create("billing-sync")
    other, _ = ApiKey.create("reporting")
    term = {"name": "billing", "prefix": target.prefix}[by]
    response = staff_client.get(CHANGELIST, {"q": term})
    assert [key.pk for key in response.context["cl"].result_list] == [target.pk]
    html = response.content.decode()
    assert change_url(target) in html
    assert change_url(other) not in html


def test_revoke_action_revokes_the_selected_keys(staff_client, caplog):
    first, first_secret = ApiKey.create("first")
    second, _ = ApiKey.create("second")
    done, _ = ApiKey.create("done")
    done.revoke()
    revoked_at = ApiKey.objects.get(pk=done.pk).revoked_at
    keep, keep_secret = ApiKey.create("keep")
    with caplog.at_level(logging.INFO, logger="queueadmin.api"):
        response = staff_client.post(
            CHANGELIST,
            {
                "action": "revoke_selected",
                ACTION_CHECKBOX_NAME: [first.pk, second.pk, done.pk],
                "index": 0,
            },
            follow=True,
        )
    assert [str(m) for m in response.context["messages"]] == [
        "Revoked 2 key(s).",
        "1 key(s) were already revoked.",
    ]
    assert ApiKey.objects.get(pk=first.pk).revoked_at is not None
    assert ApiKey.objects.get(pk=second.pk).revoked_at is not None
    assert ApiKey.objects.get(pk=done.pk).revoked_at == revoked_at
    assert ApiKey.objects.get(pk=keep.pk).revoked_at is None
    assert ApiKey.authenticate(first_secret) is None
    assert ApiKey.authenticate(keep_secret) == keep
    lines = [r.getMessage() for r in caplog.records if r.name == "queueadmin.api"]
    assert len(lines) == 2
    assert all("revoked by ops" in line for line in lines)


def test_the_revoke_action_needs_the_change_permission():
    client = client_for(make_user("viewer", "view_apikey"))
    key, _ = ApiKey.create("ci")
    html = client.get(CHANGELIST).content.decode()
    assert "Revoke selected keys" not in html
    client.post(
        CHANGELIST, {"action": "revoke_selected", ACTION_CHECKBOX_NAME: [key.pk], "index": 0}
    )
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None


def test_change_page_never_shows_the_hash(staff_client, superuser):
    key, secret = ApiKey.create("ci", created_by=superuser)
    response = staff_client.get(change_url(key))
    assert response.status_code == 200
    html = response.content.decode()
    assert key.key_hash not in html
    assert secret not in html
    assert "key_hash" not in html
    assert key.prefix in html
    assert 'name="name"' in html
    assert 'name="expires_at_0"' in html
    assert 'name="prefix"' not in html
    assert 'name="created_by"' not in html
    assert 'name="revoked_at"' not in html


def test_change_saves_name_and_keeps_the_hash(staff_client):
    key, secret = ApiKey.create("ci")
    response = staff_client.post(
        change_url(key),
        {
            "name": "ci-renamed",
            "can_write": "on",
            "expires_at_0": "",
            "expires_at_1": "",
            # Read-only fields in a forged post are ignored.
            "prefix": "qa_forged",
            "key_hash": "0" * 64,
            "revoked_at_0": "2000-01-01",
        },
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.name == "ci-renamed"
    assert key.can_write is True
    assert key.revoked_at is None
    assert ApiKey.authenticate(secret) == key


def test_only_superusers_may_change_the_access():
    client = client_for(make_user("editor", "view_apikey", "change_apikey"))
    key, _ = ApiKey.create("ci")
    html = client.get(change_url(key)).content.decode()
    assert 'name="can_write"' not in html
    assert 'name="name"' in html
    client.post(change_url(key), {"name": "ci", "can_write": "on"})
    key.refresh_from_db()
    assert key.can_write is False


def test_delete_needs_the_delete_permission(staff_client):
    key, secret = ApiKey.create("ci")
    viewer = client_for(make_user("viewer", "view_apikey", "change_apikey"))
    delete = reverse("admin:queueadmin_apikey_delete", args=[key.pk])
    assert viewer.post(delete, {"post": "yes"}).status_code == 403
    assert ApiKey.objects.filter(pk=key.pk).exists()
    assert staff_client.post(delete, {"post": "yes"}).status_code == 302
    assert not ApiKey.objects.exists()
    assert ApiKey.authenticate(secret) is None


# -- read-write keys need the job permissions ----------------------------------------------

#: What a read-write key may do; creating one (or making a key read-write) needs all of them.
JOB_PERMISSIONS = ("add_job", "change_job", "change_waittoken")


def can_write_error(response) -> str:
    """The text of the admin's error list on the can_write field."""
    html = response.content.decode()
    match = re.search(r'<ul class="errorlist"[^>]*id="id_can_write_error"[^>]*>(.*?)</ul>', html)
    assert match, "no error on can_write"
    return match.group(1)


@pytest.mark.parametrize("missing", [JOB_PERMISSIONS, *((p,) for p in JOB_PERMISSIONS)])
def test_adding_a_read_write_key_without_the_job_permissions_is_refused(missing, caplog):
    held = [p for p in JOB_PERMISSIONS if p not in missing]
    client = client_for(make_user("maker", "view_apikey", "add_apikey", *held))
    form = client.get(ADD).content.decode()
    box = re.search(r'<input type="checkbox" name="can_write"[^>]*>', form).group(0)
    assert " disabled" in box
    assert "Unavailable: a read-write key may enqueue" in form

    with caplog.at_level(logging.INFO, logger="queueadmin.api"):
        response = add(client, can_write="on")  # forged: the box is disabled

    assert response.status_code == 200
    assert not ApiKey.objects.exists()
    error = can_write_error(response)
    assert "may create a read-write key" in error
    lacked = error.split("you lack ")[1].split(". ")[0]
    assert all(f"queueadmin.{p}" in lacked for p in missing)
    assert all(f"queueadmin.{p}" not in lacked for p in held)
    assert "qa_" not in response.content.decode()
    assert not [r for r in caplog.records if r.name == "queueadmin.api"]


def test_adding_a_read_only_key_needs_no_job_permissions():
    client = client_for(make_user("maker", "view_apikey", "add_apikey"))
    response = add(client)
    assert response.status_code == 200
    key = ApiKey.objects.get()
    assert key.can_write is False
    assert ApiKey.authenticate(shown_secret(response)) == key


def test_adding_a_read_write_key_with_the_job_permissions_works():
    user = make_user("maker", "view_apikey", "add_apikey", *JOB_PERMISSIONS)
    client = client_for(user)
    box = re.search(
        r'<input type="checkbox" name="can_write"[^>]*>', client.get(ADD).content.decode()
    ).group(0)
    assert "disabled" not in box
    response = add(client, can_write="on")
    assert response.status_code == 200
    key = ApiKey.objects.get()
    assert (key.can_write, key.created_by) == (True, user)
    assert ApiKey.authenticate(shown_secret(response)) == key


def form_for(user):
    """ApiKeyForm as ApiKeyAdmin.get_form makes it for a request of ``user``."""
    return type("ApiKeyForm", (ApiKeyForm,), {"user": user})


def test_making_a_key_read_write_in_the_admin_form_needs_the_job_permissions(superuser):
    # Non-superusers do not even get the field on the change page (see
    # test_only_superusers_may_change_the_access); the form refuses anyway.
    key, _ = ApiKey.create("ci")
    data = {"name": "ci", "can_write": "on", "expires_at_0": "", "expires_at_1": ""}
    lacking = make_user("editor", "view_apikey", "change_apikey", "add_job", "change_job")

    form = form_for(lacking)(data, instance=key)
    assert not form.is_valid()
    assert "you lack queueadmin.change_waittoken" in form.errors["can_write"][0]
    key.refresh_from_db()
    assert key.can_write is False

    holder = make_user("holder", "view_apikey", "change_apikey", *JOB_PERMISSIONS)
    for user in (holder, superuser):
        assert form_for(user)(data, instance=key).is_valid()
    # Keeping a key read-write, or making it read-only, needs nothing more.
    read_write, _ = ApiKey.create("rw", can_write=True)
    assert form_for(lacking)(data, instance=read_write).is_valid()
    data.pop("can_write")
    assert form_for(lacking)(data, instance=read_write).is_valid()


def test_the_admin_form_knows_whose_request_it_is(superuser):
    request = RequestFactory().get(ADD)
    request.user = superuser
    model_admin = admin.site._registry[ApiKey]
    assert model_admin.get_form(request).user == superuser
    key, _ = ApiKey.create("ci")
    assert model_admin.get_form(request, key, change=True).user == superuser


def test_a_superuser_may_still_make_a_key_read_write_on_its_change_page(staff_client):
    key, _ = ApiKey.create("ci")
    response = staff_client.post(
        change_url(key), {"name": "ci", "can_write": "on", "expires_at_0": "", "expires_at_1": ""}
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.can_write is True
