"""The Streams page: every topic with its partitions' end offsets and retained messages,
each consumer group's committed offset and lag per partition, and the push
subscriptions. The offset reset is in ``stream_offsets``, the message browser in
``stream_messages``; both build on the helpers and rows here.

Topic and group names may hold any character (``/`` too): they travel as query or
form values, never in the path. The lists take a fixed number of queries, whatever
the number of topics, partitions, groups and subscriptions.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from core import conf
from core.dashboard.access import staff_page
from core.insights.humanize import duration
from core.insights.paging import keyset_page
from core.models import ConsumerOffset, Message, Partition, Subscription, Topic
from core.streams.endpoints import mask_secrets, masked_endpoint

TEMPLATE = "queueadmin/streams.html"
#: Longest topic search text.
SEARCH_MAX = 200
#: Longest name accepted in a query or form value (topics and groups hold 200).
NAME_MAX = 200
#: An offset as typed: an optional minus sign and ASCII digits (not "1_000" nor "+5").
_INTEGER = re.compile(r"-?[0-9]{1,20}")


def url(name: str, **params: Any) -> str:
    """A dashboard URL with its query built from ``params`` (empty values left out)."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return reverse(f"queueadmin:{name}") + (f"?{query}" if query else "")


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


def topic_named(name: str) -> Topic | None:
    """The topic named by a query or form value, or None."""
    name = clean_name(name)
    return None if name is None else Topic.objects.filter(name=name).first()


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


def first_offset() -> Subquery:
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
            .annotate(first=first_offset())
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
            sub.endpoint_text = masked_endpoint(sub.endpoint)
            sub.last_error = mask_secrets(sub.last_error, sub.endpoint)
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
    qs = Topic.objects.filter(name__icontains=search) if search else Topic.objects
    page, more = keyset_page(qs, ["name"], [after] if after else None, size)
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
        "can_reset": has("queueadmin.change_consumeroffset"),
        "can_browse": has("queueadmin.view_message"),
    }


# -- the page -----------------------------------------------------------------------------


def full_page(request: HttpRequest, **panel: Any) -> HttpResponse:
    """The whole page; ``panel`` opens the offsets panel of one group."""
    search, after = _search(request)
    context = {
        **_permissions(request),
        **topic_page(search, after, conf.get("DASHBOARD_PAGE_SIZE")),
        **panel,
    }
    return render(request, TEMPLATE, context)


@staff_page("queueadmin.view_topic")
def stream_list(request: HttpRequest) -> HttpResponse:
    """Topics by name (searchable, paged), with offsets, lag and subscriptions."""
    if request.htmx and request.htmx.target == "stream-topics":
        search, after = _search(request)
        context = {
            **_permissions(request),
            **topic_page(search, after, conf.get("DASHBOARD_PAGE_SIZE")),
        }
        return render(request, f"{TEMPLATE}#topics", context)
    return full_page(request)
