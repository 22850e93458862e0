"""Django admin for streams: topics (through core.streams), messages (read-only),
consumer offsets (changes checked by core.streams.commit) and subscriptions
(activate/deactivate actions, delivery state read-only)."""

import logging

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone

from core import streams
from core.exceptions import InvalidStreamError
from core.models import ConsumerOffset, Message, Partition, Subscription, Topic
from core.streams.subscriptions import clean_subscription
from tests.users import messages_of, staff_with

pytestmark = pytest.mark.django_db

TOPICS = "/admin/queueadmin/topic/"
MESSAGES = "/admin/queueadmin/message/"
OFFSETS = "/admin/queueadmin/consumeroffset/"
SUBSCRIPTIONS = "/admin/queueadmin/subscription/"
HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def topic():
    streams.create_topic("orders/eu", partitions=2, retention_seconds=3600)
    streams.publish_many(
        "orders/eu", [{"data": {"n": n}, "key": f"k{n}", "partition": 0} for n in range(4)]
    )
    streams.commit("billing", "orders/eu", 0, 2)
    return Topic.objects.get(name="orders/eu")


@pytest.fixture
def subscriptions(topic):
    now = timezone.now()
    return [
        Subscription.objects.create(
            name="hook",
            topic=topic,
            group="mail",
            endpoint="https://example.com/hook",
            last_error=HOSTILE,
            last_error_at=now,
            next_attempt={"0": now.isoformat()},
        ),
        Subscription.objects.create(
            name="quiet",
            topic=topic,
            group="audit",
            endpoint="https://example.com/audit",
            active=False,
            last_success_at=now,
        ),
    ]


def act(client, url, action, *pks):
    return client.post(url, {"action": action, "_selected_action": list(pks)}, follow=True)


def offset_data(**overrides):
    data = {"group": "billing", "topic": "orders/eu", "partition": "0", "offset": "1"}
    data.update(overrides)
    return data


# -- changelists --------------------------------------------------------------------------


def test_changelists_render_with_their_columns(staff_client, subscriptions):
    expected = {
        TOPICS: ("name", "partitions", "retention_seconds", "retention_messages"),
        MESSAGES: ("topic", "partition", "offset", "key", "created_at"),
        OFFSETS: ("group", "topic", "partition", "offset", "locked_by", "locked_until"),
        SUBSCRIPTIONS: (
            "name",
            "topic",
            "group",
            "endpoint",
            "active",
            "last_success_at",
            "last_error_at",
        ),
    }
    for url, columns in expected.items():
        response = staff_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for column in columns:
            assert f"column-{column}" in html, (url, column)
    assert reverse("admin:queueadmin_topic_changelist") == TOPICS
    index = staff_client.get("/admin/").content.decode()
    for label in ("Topics", "Messages", "Consumer offsets", "Subscriptions"):
        assert label in index, label


def test_searches_and_filters(staff_client, subscriptions):
    streams.create_topic("other")
    html = staff_client.get(TOPICS, {"q": "orders"}).content.decode()
    assert "orders/eu" in html
    assert ">other<" not in html
    html = staff_client.get(MESSAGES, {"q": "k2"}).content.decode()
    assert html.count('class="field-offset"') == 1
    html = staff_client.get(MESSAGES, {"topic__name__exact": "orders/eu"}).content.decode()
    assert html.count('class="field-offset"') == 4
    html = staff_client.get(OFFSETS, {"q": "bill"}).content.decode()
    assert "billing" in html
    html = staff_client.get(SUBSCRIPTIONS, {"active__exact": "0"}).content.decode()
    assert ">quiet<" in html
    assert ">hook<" not in html
    for term in ("mail", "example.com/hook", "hook"):
        html = staff_client.get(SUBSCRIPTIONS, {"q": term}).content.decode()
        assert ">hook<" in html, term
        assert ">quiet<" not in html, term


# -- topics -------------------------------------------------------------------------------


def test_adding_a_topic_creates_its_partitions(staff_client, caplog):
    caplog.set_level(logging.INFO, logger="queueadmin.streams")
    response = staff_client.post(
        f"{TOPICS}add/",
        {"name": "a/b c", "partitions": "3", "retention_seconds": "", "retention_messages": "10"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    topic = Topic.objects.get(name="a/b c")
    assert (topic.partitions, topic.retention_messages) == (3, 10)
    assert list(Partition.objects.filter(topic=topic).values_list("number", flat=True)) == [
        0,
        1,
        2,
    ]
    assert any("by ops (admin)" in r.getMessage() for r in caplog.records)


def test_a_topic_grows_but_never_shrinks(staff_client, topic):
    url = reverse("admin:queueadmin_topic_change", args=[quote(topic.pk)])
    data = {"partitions": "1", "retention_seconds": "60", "retention_messages": ""}
    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert "Partitions are never removed: enter 2 or more." in response.content.decode()
    assert Topic.objects.get(pk=topic.pk).retention_seconds == 3600
    response = staff_client.post(url, {**data, "partitions": "4"})
    assert response.status_code == 302
    assert Partition.objects.filter(topic=topic).count() == 4
    assert Topic.objects.get(pk=topic.pk).retention_seconds == 60
    assert streams.end_offset("orders/eu", 0) == 4  # the existing partition kept its offsets


@pytest.mark.parametrize(
    ("field", "value"),
    [("partitions", "0"), ("partitions", "5000"), ("retention_seconds", "-1")],
)
def test_bad_topic_settings_are_refused(staff_client, field, value):
    data = {"name": "t", "partitions": "1", "retention_seconds": "", "retention_messages": ""}
    response = staff_client.post(f"{TOPICS}add/", {**data, field: value})
    assert response.status_code == 200
    assert not Topic.objects.exists()


def test_deleting_a_topic_summarises_what_goes_with_it(staff_client, topic):
    url = reverse("admin:queueadmin_topic_delete", args=[quote(topic.pk)])
    html = staff_client.get(url).content.decode()
    assert "4 messages" in html
    assert "2 partitions" in html
    assert "1 consumer offset<" in html
    response = staff_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Topic.objects.exists()
    assert not Message.objects.exists()


# -- messages -----------------------------------------------------------------------------


def test_messages_are_read_only_with_escaped_data(staff_client, topic):
    streams.publish("orders/eu", {"html": HOSTILE}, key=HOSTILE, partition=1)
    message = Message.objects.get(partition=1)
    html = staff_client.get(MESSAGES).content.decode()
    assert ESCAPED in html
    assert HOSTILE not in html
    assert "Add message" not in html
    assert 'value="delete_selected"' not in html
    url = reverse("admin:queueadmin_message_change", args=[message.pk])
    response = staff_client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert HOSTILE not in page
    assert "&quot;html&quot;: &quot;&lt;script&gt;" in page
    assert 'name="_save"' not in page
    assert staff_client.get(f"{MESSAGES}add/").status_code == 403
    before = list(Message.objects.values())
    staff_client.post(url, {"key": "changed", "partition": "0", "offset": "9"})
    assert (
        staff_client.post(f"{url}delete/".replace("change/", ""), {"post": "yes"}).status_code
        == 403
    )
    assert list(Message.objects.values()) == before


# -- consumer offsets ---------------------------------------------------------------------


def test_changing_an_offset_goes_through_commit(staff_client, topic, caplog):
    caplog.set_level(logging.INFO, logger="queueadmin.streams")
    row = ConsumerOffset.objects.get(group="billing")
    ConsumerOffset.objects.filter(pk=row.pk).update(locked_by="w1")
    url = reverse("admin:queueadmin_consumeroffset_change", args=[row.pk])
    page = staff_client.get(url).content.decode()
    assert 'name="offset"' in page
    assert 'name="group"' not in page
    assert 'name="topic"' not in page
    response = staff_client.post(url, {"offset": "4"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.offset, row.locked_by) == (4, "w1")
    text = [r.getMessage() for r in caplog.records if r.name == "queueadmin.streams"]
    assert any("from=2 to=4 by ops (admin)" in t for t in text), text


@pytest.mark.parametrize(
    ("offset", "error"),
    [
        ("5", "Offset: 5 is past the end of orders/eu[0] (last offset 4)"),
        ("-1", "Ensure this value is greater than or equal to 0."),
        ("abc", "Enter a whole number."),
    ],
)
def test_a_bad_offset_is_refused_and_nothing_is_written(staff_client, topic, offset, error):
    row = ConsumerOffset.objects.get(group="billing")
    url = reverse("admin:queueadmin_consumeroffset_change", args=[row.pk])
    response = staff_client.post(url, {"offset": offset})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert ConsumerOffset.objects.get(pk=row.pk).offset == 2


def test_adding_an_offset_for_a_new_group(staff_client, topic):
    response = staff_client.post(f"{OFFSETS}add/", offset_data(group="new", offset="4"))
    assert response.status_code == 302
    assert streams.committed("new", "orders/eu", 0) == 4
    before = list(ConsumerOffset.objects.order_by("id").values())
    for data in (
        offset_data(group="other", partition="2"),  # no such partition
        offset_data(group="other", offset="9"),  # past the end
        offset_data(offset="0"),  # billing[0] exists already
        offset_data(group="   "),
    ):
        response = staff_client.post(f"{OFFSETS}add/", data)
        assert response.status_code == 200, data
    assert list(ConsumerOffset.objects.order_by("id").values()) == before


# -- subscriptions ------------------------------------------------------------------------


def test_subscription_actions_activate_and_deactivate(staff_client, subscriptions, caplog):
    caplog.set_level(logging.INFO, logger="queueadmin.streams")
    hook, quiet = subscriptions
    response = act(staff_client, SUBSCRIPTIONS, "deactivate_selected", hook.pk, quiet.pk)
    assert messages_of(response) == ["Deactivated 1 subscription(s)."]
    assert not Subscription.objects.filter(active=True).exists()
    response = act(staff_client, SUBSCRIPTIONS, "activate_selected", hook.pk)
    assert messages_of(response) == ["Activated 1 subscription(s)."]
    hook.refresh_from_db()
    assert hook.active
    assert hook.next_attempt == {}
    assert not Subscription.objects.get(pk=quiet.pk).active
    assert any("deactivated name='hook' by ops" in r.getMessage() for r in caplog.records)


def test_subscription_actions_need_the_change_permission(subscriptions):
    client = staff_with("view_subscription")
    html = client.get(SUBSCRIPTIONS).content.decode()
    assert "activate_selected" not in html
    act(client, SUBSCRIPTIONS, "deactivate_selected", subscriptions[0].pk)
    assert Subscription.objects.get(pk=subscriptions[0].pk).active


def test_the_last_error_is_read_only_and_escaped(staff_client, subscriptions):
    hook = subscriptions[0]
    url = reverse("admin:queueadmin_subscription_change", args=[hook.pk])
    page = staff_client.get(url).content.decode()
    assert f'<pre class="subscription-error">{ESCAPED}</pre>' in page
    assert HOSTILE not in page
    assert 'name="last_error"' not in page
    data = {
        "name": "hook",
        "topic": "orders/eu",
        "group": "mail",
        "partitions": "[1]",
        "endpoint": "https://example.com/v2",
        "batch_size": "10",
        "interval": "2",
        "timeout": "5",
        "active": "on",
        "last_error": "forged",
    }
    assert staff_client.post(url, data).status_code == 302
    hook.refresh_from_db()
    assert (hook.endpoint, hook.partitions, hook.batch_size, hook.last_error) == (
        "https://example.com/v2",
        [1],
        10,
        HOSTILE,
    )
    for field, value in (
        ("partitions", "[2]"),
        ("partitions", '"all"'),
        ("batch_size", "0"),
        ("interval", "0"),
        ("timeout", "-1"),
        ("endpoint", "not a url"),
        ("endpoint", "ftp://example.com/x"),
        ("timeout", "3601"),
    ):
        response = staff_client.post(url, {**data, field: value})
        assert response.status_code == 200, (field, value)
    hook.refresh_from_db()
    assert hook.partitions == [1]
    assert hook.batch_size == 10


def subscription_data(**overrides):
    data = {
        "name": "new",
        "topic": "orders/eu",
        "group": "fresh",
        "partitions": "[]",
        "endpoint": "https://example.com/new",
        "batch_size": "100",
        "interval": "1",
        "timeout": "10",
        "active": "on",
    }
    data.update(overrides)
    return data


def form_errors(response) -> dict[str, list[str]]:
    return {
        field: list(errors) for field, errors in response.context["adminform"].form.errors.items()
    }


def test_the_admin_refuses_a_second_subscription_of_a_group_to_a_partition(
    staff_client, subscriptions
):
    Subscription.objects.filter(name="hook").update(partitions=[0])  # mail pushes [0]
    for partitions in ("[0, 1]", "[]", "[0]"):
        response = staff_client.post(
            f"{SUBSCRIPTIONS}add/", subscription_data(group="mail", partitions=partitions)
        )
        assert response.status_code == 200, partitions
        assert form_errors(response) == {
            "group": [
                "Subscription 'hook' already pushes orders/eu as group 'mail'; "
                "two subscriptions of one group would split its messages"
            ]
        }, partitions
    assert not Subscription.objects.filter(name="new").exists()
    response = staff_client.post(
        f"{SUBSCRIPTIONS}add/", subscription_data(group="mail", partitions="[1]")
    )
    assert response.status_code == 302
    assert Subscription.objects.get(name="new").partitions == [1]


def test_the_admin_takes_the_endpoints_the_api_takes(staff_client, topic):
    # A service name without a dot: add_subscription takes it, Django's URLValidator does not.
    response = staff_client.post(
        f"{SUBSCRIPTIONS}add/", subscription_data(endpoint="http://receiver:8080/in")
    )
    assert response.status_code == 302, response.context and form_errors(response)
    assert Subscription.objects.get(name="new").endpoint == "http://receiver:8080/in"


def test_the_admin_does_not_guess_a_missing_scheme(staff_client, topic):
    response = staff_client.post(
        f"{SUBSCRIPTIONS}add/", subscription_data(endpoint="example.com/hook")
    )
    assert response.status_code == 200
    assert form_errors(response) == {
        "endpoint": ["Must be an http:// or https:// URL, got 'example.com/hook'"]
    }
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    ("field", "posted", "value"),
    [
        ("name", "a\x07b", "a\x07b"),
        ("group", "g\x1b", "g\x1b"),
        ("endpoint", "ftp://example.com/x", "ftp://example.com/x"),
        ("endpoint", "http://example.com:99999/", "http://example.com:99999/"),
        ("partitions", "[2]", [2]),
        ("partitions", "[1, 1]", [1, 1]),
        ("partitions", '"all"', "all"),
        ("batch_size", "10001", 10_001),
        ("interval", "0", 0.0),
        ("timeout", "3600.5", 3600.5),
    ],
)
def test_the_admin_shows_the_error_of_add_subscription_on_its_field(
    staff_client, topic, field, posted, value
):
    arguments = {
        "name": "new",
        "topic": "orders/eu",
        "group": "fresh",
        "endpoint": "https://example.com/new",
        field: value,
    }
    with pytest.raises(InvalidStreamError, match=rf"^{field}: ") as refused:
        clean_subscription(**arguments)
    text = str(refused.value).removeprefix(f"{field}: ")
    response = staff_client.post(f"{SUBSCRIPTIONS}add/", subscription_data(**{field: posted}))
    assert response.status_code == 200
    assert form_errors(response) == {field: [text[:1].upper() + text[1:]]}
    assert not Subscription.objects.exists()
