"""The Streams page's guarded offset reset: one group's offsets panel, and the action
that sets a group's committed offset in one partition.

A reset goes through ``core.streams.commit``, which validates it; a refused reset
writes nothing. Every reset is logged with the user's name.
"""

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from core import streams
from core.dashboard.access import actor, needs, staff_action, staff_page
from core.dashboard.redirects import redirect_to, safe_next
from core.dashboard.views.streams import (
    NAME_MAX,
    TEMPLATE,
    GroupRow,
    OffsetCell,
    clean_name,
    full_page,
    integer,
    sentence,
    topic_named,
    topic_rows,
    url,
)
from core.exceptions import InvalidStreamError, TopicNotFound
from core.models import ConsumerOffset, Subscription, Topic

logger = logging.getLogger("queueadmin.streams")

#: The htmx event that refreshes the topic list after a reset.
STREAMS_CHANGED = "streams-changed"


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


@staff_page("queueadmin.view_topic")
@needs("queueadmin.change_consumeroffset")
def stream_offsets(request: HttpRequest) -> HttpResponse:
    """The reset panel of one group of one topic: every partition's offset and lag,
    with forms to replay, skip to the end or set an offset."""
    topic = topic_named(request.GET.get("topic", ""))
    group = clean_name(request.GET.get("group", ""))
    if topic is None or group is None or not _known_group(topic, group):
        raise Http404("no such consumer group on this topic")
    context = _panel(topic, group)
    if request.htmx:
        return render(request, f"{TEMPLATE}#offsets", context)
    return full_page(request, **context)


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
    topic = topic_named(name)
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


@staff_action("queueadmin.change_consumeroffset")
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
    return redirect_to(request, safe_next(request, reverse("queueadmin:streams")))
