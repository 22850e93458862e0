"""The Streams page: every topic with its partitions' end offsets and retained messages,
each consumer group's committed offset and lag per partition, and the push
subscriptions; a guarded offset reset; and a keyset browser of a partition's messages.

Topic and group names may hold any character (``/`` too): they travel as query or
form values, never in the path. A reset goes through ``core.streams.commit``, which
validates it; a refused reset writes nothing. The lists take a fixed number of
queries, whatever the number of topics, partitions, groups and subscriptions.
"""

import logging
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from core import conf, streams
from core.dashboard.access import actor, staff_action, staff_page
from core.dashboard.redirects import redirect_to, safe_next
from core.exceptions import InvalidStreamError, TopicNotFound
from core.models import ConsumerOffset, Message, Partition, Subscription, Topic
from core.templatetags.dashboard import duration, pretty_json

logger = logging.getLogger("core.streams")

TEMPLATE = "dashboard/streams.html"
MESSAGES_TEMPLATE = "dashboard/stream_messages.html"
#: Longest topic search text.
SEARCH_MAX = 200
#: Longest name accepted in a query or form value (topics and groups hold 200).
NAME_MAX = 200
#: The htmx event that refreshes the topic list after a reset.
STREAMS_CHANGED = "streams-changed"
#: Characters of a message's pretty JSON shown on the message page.
DATA_SHOWN = 20_000
#: An offset as typed: an optional minus sign and ASCII digits (not "1_000" nor "+5").
_INTEGER = re.compile(r"-?[0-9]{1,20}")


def _needs(*permissions: str) -> Callable:
    """Also require ``permissions`` (under ``staff_page``, which handles the login)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            for permission in permissions:
                if not request.user.has_perm(permission):
                    raise PermissionDenied(f"you need the {permission} permission")
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def url(name: str, **params: Any) -> str:
    """A dashboard URL with its query built from ``params`` (empty values left out)."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return reverse(f"dashboard:{name}") + (f"?{query}" if query else "")


def sentence(message: str) -> str:
    """An API message ("offset: 9 is past the end …") capitalised for the page."""
    return message[:1].upper() + message[1:]


def integer(text: str) -> int | None:
    """A whole number typed into a form or a query, or None."""
    text = text.strip()
    return int(text) if _INTEGER.fullmatch(text) else None


def clean_name(value: str) -> str | None:
    """A topic or group name from a query or form, or None when it cannot be one
    (too long, or holding NUL, which PostgreSQL text cannot store)."""
    if not value or len(value) > NAME_MAX or "\x00" in value:
        return None
    return value


def retention_text(topic: Topic) -> str:
    """What the topic keeps: "7d 0h, newest 1000 per partition", "everything"."""
    parts = []
    if topic.retention_seconds is not None:
        parts.append(f"for {duration(topic.retention_seconds)}")
    if topic.retention_messages is not None:
        parts.append(f"newest {topic.retention_messages} per partition")
    return ", ".join(parts) if parts else "everything"


def endpoint_text(endpoint: str) -> str:
    """The endpoint with the password of any ``user:password@`` replaced by ``***``."""
    try:
        parts = urlsplit(endpoint)
        if parts.password is None:
            return endpoint
        host = parts.netloc.rpartition("@")[2]
        netloc = f"{parts.username}:***@{host}"
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return endpoint


# -- rows ---------------------------------------------------------------------------------


@dataclass
class PartitionRow:
    """One partition: its end offset and the offsets it still holds."""

    topic: str
    number: int
    end: int
    #: The offset of its oldest retained message (None: it holds none).
    first: int | None

    @property
    def retained(self) -> int:
        return 0 if self.first is None else self.end - self.first + 1

    @property
    def gone(self) -> int:
        """The last offset retention deleted (0: none)."""
        return self.end if self.first is None else self.first - 1

    @property
    def browse_url(self) -> str:
        return url("stream-messages", topic=self.topic, partition=self.number)


@dataclass
class OffsetCell:
    """A group's committed offset in one partition, and how far behind it is."""

    partition: PartitionRow
    committed: int
    locked_by: str | None = None
    locked_until: datetime | None = None

    @property
    def lag(self) -> int:
        return max(self.partition.end - self.committed, 0)

    @property
    def missed(self) -> int:
        """Messages retention deleted before the group read them."""
        return max(self.partition.gone - self.committed, 0)


@dataclass
class GroupRow:
    """A consumer group of a topic: its offset in every partition."""

    topic: str
    name: str
    cells: list[OffsetCell]
    pushed_by: list[str] = field(default_factory=list)

    @property
    def lag(self) -> int:
        return sum(cell.lag for cell in self.cells)

    @property
    def missed(self) -> int:
        return sum(cell.missed for cell in self.cells)

    @property
    def reset_url(self) -> str:
        return url("stream-offsets", topic=self.topic, group=self.name)


@dataclass
class TopicRow:
    """A topic as the page shows it."""

    topic: Topic
    partitions: list[PartitionRow]
    groups: list[GroupRow]
    subscriptions: list[Subscription]

    @property
    def name(self) -> str:
        return self.topic.name

    @property
    def retention(self) -> str:
        return retention_text(self.topic)

    @property
    def retained(self) -> int:
        return sum(p.retained for p in self.partitions)

    @property
    def end(self) -> int:
        return sum(p.end for p in self.partitions)


def _first_offset() -> Subquery:
    """Per partition row: the offset of its oldest message (one index probe each)."""
    oldest = Message.objects.filter(topic=OuterRef("topic"), partition=OuterRef("number"))
    return Subquery(oldest.order_by("offset").values("offset")[:1])


def topic_rows(topics: list[Topic], group: str | None = None) -> list[TopicRow]:
    """The rows of ``topics`` (of only ``group`` if given): three queries, however many
    topics, partitions, groups and subscriptions."""
    names = [topic.name for topic in topics]
    partitions: dict[str, list[PartitionRow]] = defaultdict(list)
    if names:
        found = (
            Partition.objects.filter(topic__in=names)
            .annotate(first=_first_offset())
            .order_by("topic_id", "number")
            .values_list("topic_id", "number", "next_offset", "first")
        )
        for topic, number, next_offset, first in found:
            partitions[topic].append(PartitionRow(topic, number, next_offset - 1, first))
    offsets: dict[str, dict[str, dict[int, ConsumerOffset]]] = defaultdict(dict)
    subscriptions: dict[str, list[Subscription]] = defaultdict(list)
    if names:
        rows = ConsumerOffset.objects.filter(topic__in=names)
        subs = Subscription.objects.filter(topic__in=names)
        if group is not None:
            rows, subs = rows.filter(group=group), subs.filter(group=group)
        for row in rows.order_by("topic_id", "group", "partition"):
            offsets[row.topic_id].setdefault(row.group, {})[row.partition] = row
        for sub in subs.order_by("topic_id", "name"):
            sub.endpoint_text = endpoint_text(sub.endpoint)
            sub.error_is_old = bool(
                sub.last_error_at
                and sub.last_success_at
                and sub.last_success_at > sub.last_error_at
            )
            subscriptions[sub.topic_id].append(sub)
    result = []
    for topic in topics:
        by_group = offsets[topic.name]
        pushers: dict[str, list[str]] = defaultdict(list)
        for sub in subscriptions[topic.name]:
            by_group.setdefault(sub.group, {})
            pushers[sub.group].append(sub.name)
        groups = []
        for name in sorted(by_group):
            cells = []
            for part in partitions[topic.name]:
                row = by_group[name].get(part.number)
                if row is None:
                    cells.append(OffsetCell(part, 0))
                else:
                    cells.append(OffsetCell(part, row.offset, row.locked_by, row.locked_until))
            groups.append(GroupRow(topic.name, name, cells, pushers[name]))
        result.append(TopicRow(topic, partitions[topic.name], groups, subscriptions[topic.name]))
    return result


def topic_page(search: str, after: str | None, size: int) -> dict[str, Any]:
    """One keyset page of topics by name (``after`` the given name), with their rows."""
    qs = Topic.objects.order_by("name")
    if search:
        qs = qs.filter(name__icontains=search)
    if after:
        qs = qs.filter(name__gt=after)
    found = list(qs[: size + 1])
    page = found[:size]
    more = len(found) > size
    return {
        "topics": topic_rows(page),
        "search": search,
        "list_url": url("streams", q=search, after=after),
        "first_url": url("streams", q=search) if after else None,
        "next_url": url("streams", q=search, after=page[-1].name) if more else None,
    }


def _search(request: HttpRequest) -> tuple[str, str | None]:
    search = request.GET.get("q", "").replace("\x00", "").strip()[:SEARCH_MAX]
    after = clean_name(request.GET.get("after", ""))
    return search, after


def _permissions(request: HttpRequest) -> dict[str, bool]:
    has = request.user.has_perm
    return {
        "can_reset": has("core.change_consumeroffset"),
        "can_browse": has("core.view_message"),
    }


# -- the page -----------------------------------------------------------------------------


def _page(request: HttpRequest, **panel: Any) -> HttpResponse:
    """The whole page; ``panel`` opens the offsets panel of one group."""
    search, after = _search(request)
    context = {
        **_permissions(request),
        **topic_page(search, after, conf.get("DASHBOARD_PAGE_SIZE")),
        **panel,
    }
    return render(request, TEMPLATE, context)


@staff_page("core.view_topic")
def stream_list(request: HttpRequest) -> HttpResponse:
    """Topics by name (searchable, paged), with offsets, lag and subscriptions."""
    if request.htmx and request.htmx.target == "stream-topics":
        search, after = _search(request)
        context = {
            **_permissions(request),
            **topic_page(search, after, conf.get("DASHBOARD_PAGE_SIZE")),
        }
        return render(request, f"{TEMPLATE}#topics", context)
    return _page(request)


# -- resetting a group's offsets ----------------------------------------------------------


def _topic(name: str) -> Topic | None:
    name = clean_name(name)
    return None if name is None else Topic.objects.filter(name=name).first()


def _known_group(topic: Topic, group: str) -> bool:
    """True if ``group`` has an offset in the topic or a subscription of it."""
    return (
        ConsumerOffset.objects.filter(topic=topic, group=group).exists()
        or Subscription.objects.filter(topic=topic, group=group).exists()
    )


def _panel(topic: Topic, group: str, **extra: Any) -> dict[str, Any]:
    """The context of one group's offsets panel."""
    row = topic_rows([topic], group=group)[0]
    group_row = next((g for g in row.groups if g.name == group), None)
    if group_row is None:  # its offsets and subscriptions were deleted a moment ago
        group_row = GroupRow(topic.name, group, [OffsetCell(p, 0) for p in row.partitions])
    active = [s.name for s in row.subscriptions if s.active]
    return {
        "panel": True,
        "panel_topic": row,
        "panel_group": group_row,
        "panel_pushers": active,
        "panel_back": url("streams"),
        **extra,
    }


@staff_page("core.view_topic")
@_needs("core.change_consumeroffset")
def stream_offsets(request: HttpRequest) -> HttpResponse:
    """The reset panel of one group of one topic: every partition's offset and lag,
    with forms to replay, skip to the end or set an offset."""
    topic = _topic(request.GET.get("topic", ""))
    group = clean_name(request.GET.get("group", ""))
    if topic is None or group is None or not _known_group(topic, group):
        raise Http404("no such consumer group on this topic")
    context = _panel(topic, group)
    if request.htmx:
        return render(request, f"{TEMPLATE}#offsets", context)
    return _page(request, **context)


@dataclass
class Reset:
    """What a reset did: a notice, or an error (nothing written)."""

    topic: Topic | None
    group: str
    known: bool = False
    notice: str | None = None
    error: str | None = None


def _shown(value: str) -> str:
    """A name as typed, cut short and without NUL, for an error message."""
    return value.replace("\x00", "")[:NAME_MAX]


def _reset(request: HttpRequest) -> Reset:
    """Reset one partition's offset as the form asks."""
    name = request.POST.get("topic", "")
    group = request.POST.get("group", "")
    topic = _topic(name)
    if topic is None:
        return Reset(None, group, error=f"No topic named “{_shown(name)}”. Nothing changed.")
    if clean_name(group) is None or not _known_group(topic, group):
        error = f"No consumer group “{_shown(group)}” on topic “{topic.name}”. Nothing changed."
        return Reset(topic, group, error=error)
    partition = integer(request.POST.get("partition", ""))
    offset_text = request.POST.get("offset", "")
    offset = integer(offset_text)
    if partition is None:
        return Reset(topic, group, True, error="Partition: not a number. Nothing changed.")
    if offset is None:
        shown = offset_text.strip()[:40] or "nothing"
        error = (
            f"Offset: “{shown}” is not a whole number "
            "(0 replays the partition, its end offset skips it). Nothing changed."
        )
        return Reset(topic, group, True, error=error)
    before = (
        ConsumerOffset.objects.filter(topic=topic, group=group, partition=partition)
        .values_list("offset", flat=True)
        .first()
    ) or 0
    try:
        streams.commit(group, topic.name, partition, offset)
    except (InvalidStreamError, TopicNotFound) as exc:
        return Reset(topic, group, True, error=f"{sentence(str(exc))}. Nothing changed.")
    logger.info(
        "stream offset reset topic=%r group=%r partition=%d from=%d to=%d by %s",
        topic.name,
        group,
        partition,
        before,
        offset,
        actor(request),
    )
    notice = f"Group {group} on {topic.name}[{partition}]: offset set from {before} to {offset}."
    return Reset(topic, group, True, notice=notice)


@staff_action("core.change_consumeroffset")
def stream_reset(request: HttpRequest) -> HttpResponse:
    """Set a group's committed offset in one partition (0 replays it, its end offset
    skips it); checked by ``core.streams.commit``, logged with the user's name."""
    done = _reset(request)
    if request.htmx:
        if done.known:
            context = _panel(
                done.topic, done.group, panel_error=done.error, panel_notice=done.notice
            )
        else:
            context = {"panel": True, "panel_error": done.error, "panel_back": url("streams")}
        response = render(request, f"{TEMPLATE}#offsets", context)
        if done.notice:
            response["HX-Trigger"] = STREAMS_CHANGED
        return response
    if done.error:
        messages.error(request, done.error)
    else:
        messages.success(request, done.notice)
    return redirect_to(request, safe_next(request, reverse("dashboard:streams")))


# -- messages of a partition --------------------------------------------------------------


def _cursor(request: HttpRequest, name: str) -> int | None:
    value = integer(request.GET.get(name, "")[:25])
    return value if value is not None and value >= 0 else None


@staff_page("core.view_topic")
@_needs("core.view_message")
def stream_messages(request: HttpRequest) -> HttpResponse:
    """A partition's messages, a keyset page at a time by offset (never OFFSET):
    oldest first after ``after``, or newest first before ``before``."""
    topic = _topic(request.GET.get("topic", ""))
    if topic is None:
        raise Http404("no such topic")
    number = integer(request.GET.get("partition", "0")[:25] or "0")
    part = (
        Partition.objects.filter(topic=topic, number=number)
        .annotate(first=_first_offset())
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
        text = pretty_json(message.data)
        message.text = text[:DATA_SHOWN]
        message.cut = len(text) - len(message.text)
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
        "oldest_url": url("stream-messages", topic=topic.name, partition=number),
        "newest_url": url("stream-messages", topic=topic.name, partition=number, order="newest"),
        "first_url": url("stream-messages", **params) if paged else None,
        "next_url": (
            url("stream-messages", **params, **{cursor: page[-1].offset})
            if len(found) > size
            else None
        ),
        "after_value": request.GET.get("after", "")[:25] if not newest else "",
    }
    return render(request, MESSAGES_TEMPLATE, context)
