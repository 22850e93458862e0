"""The Streams page's message browser: a partition's messages, a keyset page at a time
by offset (never OFFSET), with each message's key, type, time and pretty JSON (or, for
a bytes message, its size and the hex of its first bytes); filtered by type."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from core import conf
from core.dashboard.access import needs, staff_page
from core.dashboard.views.streams import (
    PartitionRow,
    first_offset,
    integer,
    sentence,
    topic_named,
    url,
)
from core.exceptions import InvalidStreamError
from core.insights.humanize import pretty_json
from core.models import ConsumerOffset, Message, Partition
from core.streams import check_type

MESSAGES_TEMPLATE = "queueadmin/stream_messages.html"
#: Characters of a message's pretty JSON shown on the message page.
DATA_SHOWN = 20_000
#: Bytes of a bytes message shown in hex.
HEX_SHOWN = 32


def _show(message: Message) -> None:
    """Set what the page shows of ``message``: ``text`` (pretty JSON cut to
    DATA_SHOWN, ``cut`` characters left out) or, for bytes, ``size`` and ``hex``."""
    message.size = None
    if message.body is not None:
        body = bytes(message.body)
        message.size = len(body)
        message.hex = body[:HEX_SHOWN].hex(" ")
        message.cut = max(0, len(body) - HEX_SHOWN)
        return
    text = pretty_json(message.data)
    message.text = text[:DATA_SHOWN]
    message.cut = len(text) - len(message.text)


def _cursor(request: HttpRequest, name: str) -> int | None:
    value = integer(request.GET.get(name, "")[:25])
    return value if value is not None and value >= 0 else None


@staff_page("queueadmin.view_topic")
@needs("queueadmin.view_message")
def stream_messages(request: HttpRequest) -> HttpResponse:
    """A partition's messages, a keyset page at a time by offset (never OFFSET):
    oldest first after ``after``, or newest first before ``before``."""
    topic = topic_named(request.GET.get("topic", ""))
    if topic is None:
        raise Http404("no such topic")
    number = integer(request.GET.get("partition", "0")[:25] or "0")
    part = (
        Partition.objects.filter(topic=topic, number=number)
        .annotate(first=first_offset())
        .values_list("next_offset", "first")
        .first()
        if number is not None and 0 <= number < topic.partitions
        else None
    )
    if part is None:
        raise Http404("no such partition")
    partition = PartitionRow(topic.name, number, part[0] - 1, part[1])
    newest = request.GET.get("order") == "newest"
    size = conf.get("DASHBOARD_PAGE_SIZE")
    rows = Message.objects.filter(topic=topic, partition=number)
    params = {"topic": topic.name, "partition": number}
    kind, type_error = request.GET.get("type", "")[:200].strip(), ""
    if kind:
        try:
            rows = rows.filter(type=check_type(kind))
            params["type"] = kind
        except InvalidStreamError as exc:
            type_error = sentence(str(exc))
            rows = rows.none()
    if newest:
        before = _cursor(request, "before")
        if before is not None:
            rows = rows.filter(offset__lt=before)
        found = list(rows.order_by("-offset")[: size + 1])
        paged = before is not None
        params["order"] = "newest"
        cursor = "before"
    else:
        after = _cursor(request, "after")
        if after:
            rows = rows.filter(offset__gt=after)
        found = list(rows.order_by("offset")[: size + 1])
        paged = bool(after)
        cursor = "after"
    page = found[:size]
    for message in page:
        _show(message)
    committed = list(
        ConsumerOffset.objects.filter(topic=topic, partition=number)
        .order_by("group")
        .values_list("group", "offset")
    )
    context = {
        "topic": topic,
        "partition": partition,
        "partition_numbers": range(topic.partitions),
        "messages_page": page,
        "committed": committed,
        "newest": newest,
        "oldest_url": url("stream-messages", **{**params, "order": None}),
        "newest_url": url("stream-messages", **{**params, "order": "newest"}),
        "type_value": kind,
        "type_error": type_error,
        "first_url": url("stream-messages", **params) if paged else None,
        "next_url": (
            url("stream-messages", **params, **{cursor: page[-1].offset})
            if len(found) > size
            else None
        ),
        "after_value": request.GET.get("after", "")[:25] if not newest else "",
    }
    return render(request, MESSAGES_TEMPLATE, context)
