"""The API keys page in a real browser: create a key, see its secret once, use it against
the API, revoke it (after confirming) and watch the API refuse it.

Each test drives Debian's Chromium against ``live_server``; the API is called with
urllib, like any script holding the key would.
"""

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from core.models import ApiKey
from tests.browser.conftest import log_in, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ONCE_TEXT = "Copy this key now; it will not be shown again."


def call_api(live_server, secret: str, path: str = "/api/jobs"):
    """(status, JSON body) of a GET with the key as a bearer token."""
    request = urllib.request.Request(
        f"{live_server.url}{path}", headers={"Authorization": f"Bearer {secret}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_create_see_once_use_reload_and_revoke(operator_page, live_server):
    page = operator_page
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))

    page.locator(".mainnav").get_by_role("link", name="API keys").click()
    expect(page).to_have_url(f"{live_server.url}/api-keys/")
    expect(page.locator('.mainnav a[aria-current="page"]')).to_have_text("API keys")
    expect(page.locator("h1")).to_have_text("API keys")
    expect(page.locator("#apikey-table")).to_contain_text("No API keys yet.")

    # No keys yet: the form is open.
    page.get_by_label("Name").fill("nightly-report")
    page.get_by_label("Expires in (days)").fill("30")
    page.get_by_role("button", name="Create key").click()

    box = page.locator("#apikey-secret")
    expect(box).to_contain_text(ONCE_TEXT)
    expect(box).to_contain_text("Key “nightly-report” created (read-only, expires ")
    secret = page.locator("#apikey-secret-value").inner_text()
    key = ApiKey.objects.get()
    assert secret.startswith(key.prefix)
    assert "/api-keys/new/" in page.url
    assert secret not in page.url
    expect(page.locator("#apikey-curl")).to_have_text(
        f'curl -H "Authorization: Bearer {secret}" {live_server.url}/api/jobs'
    )
    row = page.locator(f"#apikey-{key.pk}")
    expect(row).to_have_attribute("data-state", "active")
    expect(row.locator(".apikey-prefix")).to_have_text(f"{key.prefix}…")
    expect(row.locator(".apikey-access")).to_have_text("read-only")
    expect(row.locator(".apikey-creator")).to_have_text("operator")

    # The table refreshes itself; the secret box stays while the operator copies it.
    page.select_option("#live-interval", "1")
    with page.expect_response(lambda r: r.url == f"{live_server.url}/api-keys/"):
        pass
    expect(box).to_be_visible()
    expect(row.locator(".apikey-used")).to_have_text("never")

    # The key works against the API, and its use shows on the page.
    status, body = call_api(live_server, secret)
    assert status == 200
    assert isinstance(body, dict)
    expect(row.locator(".apikey-used")).not_to_have_text("never")

    # A reload (which sends the form again) shows no secret and creates nothing.
    page.reload()
    expect(page.locator(".messages")).to_contain_text("This form was sent already")
    expect(page.locator("#apikey-secret")).to_have_count(0)
    assert secret not in page.content()
    assert ApiKey.objects.count() == 1
    page.goto(f"{live_server.url}/api-keys/")
    expect(page.locator(f"#apikey-{key.pk}")).to_be_visible()
    expect(page.locator("#apikey-secret")).to_have_count(0)
    assert secret not in page.content()

    # Revoke, after confirming.
    row = page.locator(f"#apikey-{key.pk}")
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator(".messages")).to_contain_text(
        f"Key nightly-report ({key.prefix}…) revoked; the API refuses it from now on."
    )
    expect(row).to_have_attribute("data-state", "revoked")
    expect(row).to_have_class("apikey-row revoked")
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    assert dialogs == [
        f"Revoke key “nightly-report” ({key.prefix}…)? Every call with it is refused "
        "from now on; this cannot be undone."
    ]
    status, body = call_api(live_server, secret)
    assert status == 401
    assert "revoked" in json.dumps(body)


def test_dismissing_the_confirmation_keeps_the_key(operator_page, live_server):
    page = operator_page
    page.on("dialog", lambda d: d.dismiss())
    key, secret = ApiKey.create("ci", can_write=True)
    page.goto(f"{live_server.url}/api-keys/")
    row = page.locator(f"#apikey-{key.pk}")
    expect(row.locator(".apikey-access")).to_have_text("read-write")
    row.get_by_role("button", name="Revoke").click()
    page.wait_for_timeout(300)
    expect(row).to_have_attribute("data-state", "active")
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
    assert call_api(live_server, secret)[0] == 200


def test_an_invalid_form_is_explained_and_creates_nothing(operator_page, live_server):
    page = operator_page
    ApiKey.create("existing")
    page.goto(f"{live_server.url}/api-keys/")
    page.locator("#apikey-new summary").click()  # the form is folded once keys exist
    page.get_by_label("Name").fill("ci")
    page.get_by_label("Expires in (days)").fill("0")
    page.get_by_role("button", name="Create key").click()

    error = page.locator("#field-expires_in_days").get_by_role("alert")
    expect(error).to_contain_text("The expiry must lie in the future")
    expect(page.get_by_label("Expires in (days)")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Name")).to_have_value("ci")
    expect(page.locator("#apikey-secret")).to_have_count(0)
    assert ApiKey.objects.count() == 1

    page.get_by_label("Expires in (days)").fill("")
    page.get_by_label("Read-write").check()
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#apikey-secret")).to_contain_text("(read-write)")
    assert ApiKey.objects.get(name="ci").can_write is True


def test_without_the_job_permissions_read_write_is_greyed_out_and_explained(page, live_server):
    make_staff("maker", "queueadmin.view_apikey", "queueadmin.add_apikey", "queueadmin.add_job")
    log_in(page, live_server, "maker", "/api-keys/")

    box = page.get_by_label("Read-write")
    expect(box).to_be_disabled()
    expect(page.locator("#id_can_write_helptext")).to_contain_text(
        "you lack queueadmin.change_job and queueadmin.change_waittoken, "
        "so the key will be read-only"
    )
    expect(box).to_have_attribute("aria-describedby", "id_can_write_helptext")

    page.get_by_label("Name").fill("reports")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#apikey-secret")).to_contain_text("(read-only)")
    assert ApiKey.objects.get(name="reports").can_write is False
