"""The dashboard's API keys page: list, create (the secret shown once), revoke."""

import logging
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import ApiKey
from core.models.apikeys import hash_key
from tests.dashboard.conftest import html_reader, strict_html
from tests.users import client_for, make_user, messages_of

pytestmark = pytest.mark.django_db

PAGE = "/api-keys/"
NEW = "/api-keys/new/"
ONCE_TEXT = "Copy this key now; it will not be shown again"
HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
SECRET = re.compile(r'<code class="secret" id="apikey-secret-value">(qa_[^<]+)</code>')


#: What a read-write key may do; creating one needs all of them.
JOB_PERMISSIONS = ("add_job", "change_job", "change_waittoken")
READ_WRITE_BOX = re.compile(r'<input type="checkbox" name="can_write"[^>]*>')


@pytest.fixture
def admin_user():
    return make_user(
        "keeper", "view_apikey", "add_apikey", "change_apikey", "view_job", *JOB_PERMISSIONS
    )


@pytest.fixture
def operator(admin_user):
    return client_for(admin_user)


@pytest.fixture
def viewer():
    return client_for(make_user("viewer", "view_apikey"))


def revoke_url(key) -> str:
    return f"/api-keys/{key.pk}/revoke/"


html_of = html_reader(PAGE)


def row_ids(html) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="apikey-(\d+)" class="apikey-row', html)]


def snapshot():
    return list(ApiKey.objects.order_by("id").values())


def create(client, name="nightly-report", **fields):
    return client.post(NEW, {"name": name, **fields})


def secret_in(response) -> str:
    match = SECRET.search(response.content.decode())
    assert match, "no secret on the page"
    return match.group(1)


def api_status(client, secret) -> int:
    return client.get("/api/jobs", headers={"authorization": f"Bearer {secret}"}).status_code


# -- who may see and act ---------------------------------------------------------------


def test_anonymous_users_are_sent_to_the_login(client):
    key, _ = ApiKey.create("ci")
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/admin/login/?next={PAGE}")
    for url in (NEW, revoke_url(key)):
        response = client.post(url, {"name": "sneaky"})
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert ApiKey.objects.count() == 1
    assert ApiKey.objects.get().revoked_at is None


def test_non_staff_users_are_sent_to_the_login():
    client = client_for(make_user("outsider", "view_apikey", "add_apikey", is_staff=False))
    assert client.get(PAGE).status_code == 302
    assert create(client).status_code == 302
    assert not ApiKey.objects.exists()


def test_staff_without_view_apikey_get_403():
    client = client_for(make_user("jobs-only", "view_job", "change_job"))
    assert client.get(PAGE).status_code == 403


def test_viewer_sees_keys_without_forms_or_buttons(viewer):
    key, _ = ApiKey.create("ci")
    html = html_of(viewer)
    assert row_ids(html) == [key.pk]
    assert 'id="apikey-form"' not in html
    assert NEW not in html
    assert "/revoke/" not in html
    assert ">Revoke<" not in html


def test_viewer_forged_posts_get_403_and_change_nothing(viewer):
    key, _ = ApiKey.create("ci")
    before = snapshot()
    assert create(viewer).status_code == 403
    assert viewer.post(revoke_url(key)).status_code == 403
    assert snapshot() == before


def test_add_permission_alone_may_create_but_not_revoke():
    client = client_for(make_user("maker", "view_apikey", "add_apikey"))
    html = html_of(client)
    assert 'id="apikey-form"' in html
    response = create(client)
    assert response.status_code == 200
    key = ApiKey.objects.get()
    assert "/revoke/" not in response.content.decode()
    assert client.post(revoke_url(key)).status_code == 403
    assert ApiKey.objects.get().revoked_at is None


def test_change_permission_alone_may_revoke_but_not_create():
    client = client_for(make_user("revoker", "view_apikey", "change_apikey"))
    key, _ = ApiKey.create("ci")
    html = html_of(client)
    assert 'id="apikey-form"' not in html
    assert f'action="{revoke_url(key)}"' in html
    assert create(client).status_code == 403
    assert client.post(revoke_url(key)).status_code == 303
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


@pytest.mark.parametrize("path", [NEW, "/api-keys/1/revoke/"])
def test_get_on_an_action_url_is_405(operator, path):
    ApiKey.create("ci")
    before = snapshot()
    assert operator.get(path).status_code == 405
    assert snapshot() == before


def test_posts_without_csrf_token_are_refused(admin_user):
    client = client_for(admin_user, enforce_csrf_checks=True)
    key, _ = ApiKey.create("ci")
    before = snapshot()
    assert create(client).status_code == 403
    assert client.post(revoke_url(key)).status_code == 403
    assert snapshot() == before


def test_nav_has_an_api_keys_link_marked_current_on_the_page(operator):
    html = html_of(operator)
    nav = html[html.index('<nav class="mainnav">') : html.index("</nav>")]
    assert '<a href="/api-keys/" aria-current="page">API keys</a>' in nav
    assert nav.index(">Workers<") < nav.index(">API keys<") < nav.index(">Admin<")
    jobs = html_of(operator, "/jobs/")
    assert '<a href="/api-keys/">API keys</a>' in jobs


def test_page_has_a_strict_policy_no_inline_scripts_or_styles(operator):
    ApiKey.create(HOSTILE)
    for response in (operator.get(PAGE), create(operator, name=HOSTILE)):
        html = strict_html(response)
        assert " style=" not in html
        assert HOSTILE not in html
        assert ESCAPED in html


# -- the list ------------------------------------------------------------------------------


def test_list_shows_prefix_never_secret_or_hash_newest_first(operator, admin_user):
    old, old_secret = ApiKey.create("old-reader")
    ApiKey.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    new, new_secret = ApiKey.create("deployer", can_write=True, created_by=admin_user)
    html = html_of(operator)
    assert row_ids(html) == [new.pk, old.pk]
    for key, secret in ((old, old_secret), (new, new_secret)):
        assert f'<code class="apikey-prefix">{key.prefix}…</code>' in html
        assert secret not in html
        assert key.key_hash not in html
    assert ONCE_TEXT not in html
    row = html[html.index(f'id="apikey-{new.pk}"') : html.index(f'id="apikey-{old.pk}"')]
    assert "read-write" in row
    assert '<td class="apikey-creator">keeper</td>' in row
    assert "never" in row  # not used yet, never expires
    assert ">active<" in row
    assert f'action="{revoke_url(new)}"' in row
    assert "hx-confirm=" in row
    old_row = html[html.index(f'id="apikey-{old.pk}"') :]
    assert "read-only" in old_row


def test_revoked_and_expired_keys_stay_listed_greyed_with_their_state(operator):
    active, _ = ApiKey.create("active")
    revoked, _ = ApiKey.create("revoked")
    revoked.revoke()
    expired, _ = ApiKey.create("expired", expires_at=timezone.now() - timedelta(minutes=1))
    html = html_of(operator)
    assert sorted(row_ids(html)) == sorted([active.pk, revoked.pk, expired.pk])
    assert f'<tr id="apikey-{active.pk}" class="apikey-row" ' in html
    assert f'<tr id="apikey-{revoked.pk}" class="apikey-row revoked" ' in html
    assert f'<tr id="apikey-{expired.pk}" class="apikey-row expired" ' in html
    assert re.search(rf'id="apikey-{revoked.pk}"[^>]*data-state="revoked"', html)
    assert re.search(rf'id="apikey-{expired.pk}"[^>]*data-state="expired"', html)
    # No button for a revoked key; an expired one may still be revoked for good.
    assert revoke_url(revoked) not in html
    assert revoke_url(expired) in html


def test_empty_list_says_so_and_opens_the_form(operator):
    html = html_of(operator)
    assert "No API keys yet." in html
    assert '<details class="apikey-new" id="apikey-new" open>' in html


def test_the_table_refreshes_itself_as_a_fragment(operator):
    key, _ = ApiKey.create("ci")
    html = html_of(operator)
    assert 'id="apikey-table" hx-get="/api-keys/" hx-trigger="live"' in html
    fragment = html_of(operator, headers={"HX-Request": "true", "HX-Target": "apikey-table"})
    assert fragment.lstrip().startswith('<div id="apikey-table"')
    assert row_ids(fragment) == [key.pk]
    assert "<html" not in fragment


def test_query_count_does_not_grow_with_the_number_of_keys(operator):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            html_of(operator)
        return len(queries)

    def keys(n: int, start: int) -> None:
        for i in range(start, start + n):
            ApiKey.create(f"key-{i}", created_by=make_user(f"creator-{i}"), can_write=i % 2)

    keys(2, 0)
    few = count()
    keys(18, 2)
    ApiKey.objects.filter(name="key-5").get().revoke()
    assert count() == few
    assert few <= 8  # two of them: the creators' permissions, for suspended keys


# -- creating ------------------------------------------------------------------------------


def test_creating_shows_the_secret_once_and_it_authenticates(operator, admin_user, caplog):
    with caplog.at_level(logging.INFO, logger="queueadmin.api"):
        response = create(operator, name="nightly-report")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    secret = secret_in(response)
    key = ApiKey.objects.get()
    assert ONCE_TEXT in html
    assert f'curl -H "Authorization: Bearer {secret}" http://testserver/api/jobs' in html
    assert secret.startswith(key.prefix)
    assert key.name == "nightly-report"
    assert key.created_by == admin_user
    assert key.can_write is False
    assert key.expires_at is None
    assert key.key_hash == hash_key(secret)
    assert ApiKey.authenticate(secret) == key
    # Only the hash is stored; the secret is in no column, not in the session or a cookie.
    assert all(secret not in str(value) for value in ApiKey.objects.values().get().values())
    assert secret not in str(dict(operator.session.items()))
    assert all(secret not in morsel.value for morsel in response.cookies.values())
    assert 'class="apikey-row new"' in html
    # The audit line names the operator, never the secret.
    lines = [r.getMessage() for r in caplog.records if r.name == "queueadmin.api"]
    assert len(lines) == 1
    assert "created by keeper" in lines[0]
    assert key.prefix in lines[0]
    assert secret not in lines[0]
    # And the next visit of the page does not show it again.
    after = html_of(operator)
    assert secret not in after
    assert ONCE_TEXT not in after
    assert f"{key.prefix}…" in after


def test_the_created_key_works_against_the_api(operator, client):
    secret = secret_in(create(operator))
    assert api_status(client, secret) == 200


@pytest.mark.parametrize(("ticked", "can_write"), [({}, False), ({"can_write": "on"}, True)])
def test_read_only_or_read_write_is_saved(operator, ticked, can_write):
    response = create(operator, **ticked)
    assert ApiKey.objects.get().can_write is can_write
    word = "read-write" if can_write else "read-only"
    assert f"({word})" in response.content.decode()


def test_expiry_in_days_is_saved(operator):
    before = timezone.now()
    create(operator, expires_in_days="30")
    expires = ApiKey.objects.get().expires_at
    assert before + timedelta(days=30) <= expires <= timezone.now() + timedelta(days=30)


@pytest.mark.parametrize(
    ("fields", "field", "error"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "   "}, "name", "This field is required."),
        ({"name": "x" * 101}, "name", "at most 100 characters"),
        ({"expires_in_days": "0"}, "expires_in_days", "The expiry must lie in the future"),
        ({"expires_in_days": "-3"}, "expires_in_days", "The expiry must lie in the future"),
        ({"expires_in_days": "soon"}, "expires_in_days", "Enter a whole number."),
        ({"expires_in_days": "99999"}, "expires_in_days", "At most 3650 days."),
    ],
)
def test_invalid_forms_create_nothing_and_explain(operator, fields, field, error):
    response = operator.post(NEW, {"name": "ok", **fields})
    assert response.status_code == 200
    html = response.content.decode()
    assert not ApiKey.objects.exists()
    assert re.search(rf'id="id_{field}_error">[^<]*{re.escape(error)}', html), html
    assert 'aria-invalid="true"' in html
    assert ONCE_TEXT not in html
    assert '<details class="apikey-new" id="apikey-new" open>' in html


def test_a_name_of_100_characters_is_fine(operator):
    create(operator, name="n" * 100)
    assert ApiKey.objects.get().name == "n" * 100


def test_sending_the_same_form_twice_creates_one_key(operator):
    page = html_of(operator)
    once = re.search(r'name="once" value="([^"]+)"', page).group(1)
    first = operator.post(NEW, {"name": "ci", "once": once})
    secret = secret_in(first)
    again = operator.post(NEW, {"name": "ci", "once": once})  # a reload of the response
    assert again.status_code == 409
    assert ApiKey.objects.count() == 1
    key = ApiKey.objects.get()
    assert secret not in again.content.decode()
    assert any(f"key {key.prefix}… was created then" in m for m in messages_of(again))
    # A fresh form creates a fresh key.
    fresh = re.search(r'name="once" value="([^"]+)"', again.content.decode()).group(1)
    assert fresh != once
    assert operator.post(NEW, {"name": "ci", "once": fresh}).status_code == 200
    assert ApiKey.objects.count() == 2


# -- read-write keys need the job permissions ----------------------------------------------


def read_write_box(html) -> str:
    match = READ_WRITE_BOX.search(html)
    assert match, "no Read-write checkbox"
    return match.group(0)


@pytest.mark.parametrize("missing", [JOB_PERMISSIONS, *((p,) for p in JOB_PERMISSIONS)])
def test_without_the_job_permissions_the_read_write_box_is_disabled_and_explained(missing):
    held = [p for p in JOB_PERMISSIONS if p not in missing]
    client = client_for(make_user("maker", "view_apikey", "add_apikey", *held))
    html = html_of(client)
    box = read_write_box(html)
    assert " disabled" in box
    assert 'aria-describedby="id_can_write_helptext"' in box
    help_text = re.search(r'id="id_can_write_helptext">([^<]*)<', html).group(1)
    assert help_text.startswith("unavailable: ")
    assert "queueadmin.add_job, queueadmin.change_job and queueadmin.change_waittoken" in help_text
    assert all(f"queueadmin.{p}" in help_text.split("you lack")[1] for p in missing)
    assert all(f"queueadmin.{p}" not in help_text.split("you lack")[1] for p in held)
    assert "read-only" in help_text


@pytest.mark.parametrize("missing", [JOB_PERMISSIONS, *((p,) for p in JOB_PERMISSIONS)])
def test_a_read_write_key_without_the_job_permissions_is_refused_and_nothing_created(
    missing, caplog
):
    held = [p for p in JOB_PERMISSIONS if p not in missing]
    client = client_for(make_user("maker", "view_apikey", "add_apikey", *held))
    with caplog.at_level(logging.INFO, logger="queueadmin.api"):
        response = create(client, can_write="on")  # a forged form: the box is disabled
    assert response.status_code == 200
    assert not ApiKey.objects.exists()
    html = response.content.decode()
    assert not SECRET.search(html)
    assert ONCE_TEXT not in html
    error = re.search(r'id="id_can_write_error">([^<]*)<', html)
    assert error, html
    assert "may create a read-write key" in error.group(1)
    lacked = error.group(1).split("you lack ")[1].split(". ")[0]
    assert all(f"queueadmin.{p}" in lacked for p in missing)
    assert all(f"queueadmin.{p}" not in lacked for p in held)
    assert '<details class="apikey-new" id="apikey-new" open>' in html
    assert not [r for r in caplog.records if r.name == "queueadmin.api"]


def test_without_the_job_permissions_a_read_only_key_may_still_be_created():
    client = client_for(make_user("maker", "view_apikey", "add_apikey", "add_job"))
    response = create(client)
    assert response.status_code == 200
    key = ApiKey.objects.get()
    assert key.can_write is False
    assert ApiKey.authenticate(secret_in(response)) == key


@pytest.mark.parametrize("superuser", [False, True])
def test_with_the_job_permissions_a_read_write_key_is_created(superuser, django_user_model):
    if superuser:
        user = django_user_model.objects.create_superuser("root", "root@example.com", None)
    else:
        user = make_user("maker", "view_apikey", "add_apikey", *JOB_PERMISSIONS)
    client = client_for(user)
    box = read_write_box(html_of(client))
    assert "disabled" not in box
    response = create(client, can_write="on")
    assert response.status_code == 200
    key = ApiKey.objects.get()
    assert (key.can_write, key.created_by) == (True, user)
    assert "(read-write)" in response.content.decode()
    secret = secret_in(response)
    enqueue = Client().post(
        "/api/jobs",
        {"job_type": "x"},
        content_type="application/json",
        headers={"authorization": f"Bearer {secret}"},
    )
    assert enqueue.status_code == 201


# -- revoking ------------------------------------------------------------------------------


def test_revoke_refuses_the_key_from_then_on_and_is_logged(operator, client, caplog):
    key, secret = ApiKey.create("ci")
    other, other_secret = ApiKey.create("other")
    assert api_status(client, secret) == 200
    with caplog.at_level(logging.INFO, logger="queueadmin.api"):
        response = operator.post(revoke_url(key), follow=True)
    assert response.redirect_chain == [(PAGE, 303)]
    assert messages_of(response) == [
        f"Key ci ({key.prefix}…) revoked; the API refuses it from now on."
    ]
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert ApiKey.objects.get(pk=other.pk).revoked_at is None
    assert api_status(client, secret) == 401
    assert api_status(client, other_secret) == 200
    html = response.content.decode()
    assert re.search(rf'id="apikey-{key.pk}"[^>]*data-state="revoked"', html)
    lines = [r.getMessage() for r in caplog.records if r.name == "queueadmin.api"]
    assert lines == [f"api key id={key.pk} prefix={key.prefix} name='ci' revoked by keeper"]


def test_revoking_twice_is_harmless(operator):
    key, _ = ApiKey.create("ci")
    operator.post(revoke_url(key), follow=True)
    revoked_at = ApiKey.objects.get(pk=key.pk).revoked_at
    response = operator.post(revoke_url(key), follow=True)
    assert response.status_code == 200
    assert messages_of(response) == [f"Key ci ({key.prefix}…) was already revoked."]
    assert ApiKey.objects.get(pk=key.pk).revoked_at == revoked_at


def test_revoke_from_htmx_redirects_the_whole_page(operator):
    key, _ = ApiKey.create("ci")
    response = operator.post(revoke_url(key), headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"] == PAGE
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_revoke_goes_back_only_within_the_site(operator):
    key, _ = ApiKey.create("ci")
    response = operator.post(revoke_url(key), {"next": "https://evil.example/"})
    assert response["Location"] == PAGE


def test_revoking_an_unknown_key_is_404(operator):
    assert operator.post("/api-keys/999999/revoke/").status_code == 404
