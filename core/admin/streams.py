"""Admin for streams: topics, their messages (read-only) and consumer groups' offsets
(changed through core.streams.commit, which checks them). Push subscriptions are in
core.admin.stream_subscriptions."""

import logging
import math
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from core import streams
from core.admin.display import pretty_json
from core.admin.input import GuardedAdmin
from core.exceptions import InvalidStreamError, TopicNotFound
from core.models import ConsumerOffset, Message, Partition, Subscription, Topic

logger = logging.getLogger("queueadmin.streams")


def actor(request: HttpRequest) -> str:
    """The user named in the log lines of admin changes."""
    return request.user.get_username()


def _message(exc: Exception) -> str:
    """An API message, capitalised ("Offset: 9 is past the end of …")."""
    text = str(exc)
    return text[:1].upper() + text[1:]


def _name(value: Any, label: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"Enter a {label} name.")
    if "\x00" in value:
        raise ValidationError(f"A {label} name may not contain NUL characters.")
    return value


# -- topics -------------------------------------------------------------------------------


class TopicForm(forms.ModelForm):
    """A topic, saved through ``core.streams.create_topic`` (which adds partition rows)."""

    class Meta:
        model = Topic
        fields = ("name", "partitions", "retention_seconds", "retention_messages")

    def clean_name(self) -> str:
        return _name(self.cleaned_data.get("name"), "topic")

    def clean_partitions(self) -> int:
        value = self.cleaned_data.get("partitions")
        if value is None or not 1 <= value <= streams.MAX_PARTITIONS:
            raise ValidationError(f"Enter a number from 1 to {streams.MAX_PARTITIONS}.")
        if not self.instance._state.adding and value < self.instance.partitions:
            raise ValidationError(
                f"Partitions are never removed: enter {self.instance.partitions} or more."
            )
        return value

    def clean_retention_seconds(self) -> float | None:
        value = self.cleaned_data.get("retention_seconds")
        if value is not None and (not math.isfinite(value) or value <= 0):
            raise ValidationError("Enter more than zero seconds, or leave it empty to keep all.")
        return value

    def clean_retention_messages(self) -> int | None:
        value = self.cleaned_data.get("retention_messages")
        if value is not None and value < 1:
            raise ValidationError("Enter at least 1, or leave it empty to keep all.")
        return value


@admin.register(Topic)
class TopicAdmin(GuardedAdmin):
    """Topics: partitions (grown, never shrunk) and retention, through core.streams."""

    form = TopicForm
    list_display = ("name", "partitions", "retention_seconds", "retention_messages", "created_at")
    search_fields = ("name",)
    search_help_text = "Topic name."
    ordering = ("name",)
    fields = ("name", "partitions", "retention_seconds", "retention_messages", "created_at")
    readonly_fields = ("created_at",)

    def get_readonly_fields(self, request: HttpRequest, obj: Topic | None = None):
        # The name is the key: messages, offsets and subscriptions point at it.
        return ("name", *self.readonly_fields) if obj else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Topic, form: TopicForm, change: bool) -> None:
        data = form.cleaned_data
        streams.create_topic(
            obj.name,
            partitions=data["partitions"],
            retention_seconds=data["retention_seconds"],
            retention_messages=data["retention_messages"],
        )
        obj.refresh_from_db()
        verb = "changed" if change else "created"
        logger.info(
            "topic %s name=%r partitions=%d by %s (admin)",
            verb,
            obj.name,
            obj.partitions,
            actor(request),
        )

    def get_deleted_objects(self, objs, request: HttpRequest):
        """A summary of what deleting topics removes, never a list of every message."""
        names = [topic.name for topic in objs]
        counts = {
            model: model.objects.filter(topic__in=names).count()
            for model in (Message, Partition, ConsumerOffset, Subscription)
        }
        summary = [f"Topic: {name}" for name in names]
        model_count = {Topic._meta.verbose_name_plural: len(names)}
        for model, count in counts.items():
            if count:
                meta = model._meta
                label = meta.verbose_name if count == 1 else meta.verbose_name_plural
                summary.append(f"{count} {label}")
                model_count[meta.verbose_name_plural] = count
        perms_needed = set()
        if not self.has_delete_permission(request):
            perms_needed.add("topic")
        return summary, model_count, perms_needed, []

    def delete_model(self, request: HttpRequest, obj: Topic) -> None:
        super().delete_model(request, obj)
        logger.info("topic deleted name=%r by %s (admin)", obj.name, actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Topic]) -> None:
        names = list(queryset.values_list("name", flat=True))
        super().delete_queryset(request, queryset)
        for name in names:
            logger.info("topic deleted name=%r by %s (admin)", name, actor(request))


# -- messages -----------------------------------------------------------------------------

#: Bytes of a bytes message the admin shows in hex.
HEX_SHOWN = 64
#: Most types the type filter offers.
TYPES_LISTED = 100


#: The filter lists the types of this many latest messages (a bounded read, whatever
#: the table holds; an older type is still reachable with ?type= in the address).
TYPES_FROM_LATEST = 10_000


class MessageTypeFilter(admin.SimpleListFilter):
    """By message type: the first TYPES_LISTED types of the latest messages, or none."""

    title = "type"
    parameter_name = "type"
    NONE = "-"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        latest = Message.objects.order_by("-id").values_list("id", flat=True).first() or 0
        types = (
            Message.objects.filter(id__gt=latest - TYPES_FROM_LATEST, type__isnull=False)
            .order_by("type")
            .values_list("type", flat=True)
            .distinct()[:TYPES_LISTED]
        )
        return [(kind, kind) for kind in types] + [(self.NONE, "(none)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Message]):
        value = self.value()
        if not value:
            return queryset
        if value == self.NONE:
            return queryset.filter(type__isnull=True)
        return queryset.filter(type=value.replace("\x00", ""))


@admin.register(Message)
class MessageAdmin(GuardedAdmin):
    """Messages, read-only: published through core.streams, removed by retention."""

    list_display = ("id", "topic", "partition", "offset", "key", "type", "created_at")
    list_filter = ("topic", MessageTypeFilter)
    search_fields = ("key",)
    search_help_text = "Exact message key."
    ordering = ("-id",)
    show_full_result_count = False
    list_per_page = 50
    fields = ("topic", "partition", "offset", "key", "type", "data_json", "created_at")
    readonly_fields = fields

    @admin.display(description="data")
    def data_json(self, message: Message) -> str:
        if message.body is not None:
            body = bytes(message.body)
            more = f" … {len(body) - HEX_SHOWN} more" if len(body) > HEX_SHOWN else ""
            return f"{len(body)} bytes: {body[:HEX_SHOWN].hex(' ')}{more}"
        return pretty_json(message.data)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(key=term.replace("\x00", "")), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Through core.streams.publish: it gives the message the next offset.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        # A message is immutable once published.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        # Retention deletes messages, oldest first; a hole in the middle would be silent.
        return False


# -- consumer offsets ---------------------------------------------------------------------


class _DryRun(Exception):
    """Rolls back a commit made only to check it."""


class ConsumerOffsetForm(forms.ModelForm):
    """A group's committed offset, checked by ``core.streams.commit`` (0 to the end)."""

    class Meta:
        model = ConsumerOffset
        fields = ("group", "topic", "partition", "offset")

    def clean_group(self) -> str:
        return _name(self.cleaned_data.get("group"), "group")

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        instance = self.instance
        group = data.get("group", instance.group)
        topic = data["topic"].name if "topic" in data else instance.topic_id
        partition = data.get("partition", instance.partition)
        offset = data.get("offset")
        try:
            with transaction.atomic():  # a savepoint: the commit is checked, then undone
                streams.commit(group, topic, partition, offset)
                raise _DryRun
        except _DryRun:
            pass
        except (InvalidStreamError, TopicNotFound) as exc:
            raise ValidationError(_message(exc)) from None
        return data


@admin.register(ConsumerOffset)
class ConsumerOffsetAdmin(GuardedAdmin):
    """Consumer groups' committed offsets; a change goes through core.streams.commit."""

    form = ConsumerOffsetForm
    list_display = (
        "group",
        "topic",
        "partition",
        "offset",
        "locked_by",
        "locked_until",
        "updated_at",
    )
    list_filter = ("topic",)
    search_fields = ("group",)
    search_help_text = "Consumer group name."
    ordering = ("group", "topic", "partition")
    fields = ("group", "topic", "partition", "offset", "locked_by", "locked_until", "updated_at")
    readonly_fields = ("locked_by", "locked_until", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: ConsumerOffset | None = None):
        # A row is one group's place in one partition: only its offset moves.
        if obj:
            return ("group", "topic", "partition", *self.readonly_fields)
        return self.readonly_fields

    def save_model(
        self, request: HttpRequest, obj: ConsumerOffset, form: ConsumerOffsetForm, change: bool
    ) -> None:
        # Only the offset is written (the push lease columns are the worker's).
        before = form.initial.get("offset", 0) if change else 0
        streams.commit(obj.group, obj.topic_id, obj.partition, obj.offset)
        saved = ConsumerOffset.objects.get(
            group=obj.group, topic_id=obj.topic_id, partition=obj.partition
        )
        for f in obj._meta.concrete_fields:
            setattr(obj, f.attname, getattr(saved, f.attname))
        obj._state.adding, obj._state.db = False, saved._state.db
        logger.info(
            "stream offset reset topic=%r group=%r partition=%d from=%d to=%d by %s (admin)",
            obj.topic_id,
            obj.group,
            obj.partition,
            before or 0,
            obj.offset,
            actor(request),
        )
