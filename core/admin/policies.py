"""Admin for queue and channel policies: every change goes through core.scheduling.policies, which
validates it, logs it with the user, and never overwrites what the claim keeps."""

import logging
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin.input import GuardedAdmin
from core.exceptions import InvalidPolicyError
from core.models import ChannelPolicy, Queue
from core.scheduling import policies

logger = logging.getLogger("queueadmin.queue")


def _message(exc: InvalidPolicyError) -> str:
    """The API's message without its "field: " prefix (the form shows it beside the field)."""
    field, sep, rest = str(exc).partition(": ")
    return rest[:1].upper() + rest[1:] if sep and field.isidentifier() else str(exc)


def _check(check, *args: Any) -> Any:
    try:
        return check(*args)
    except InvalidPolicyError as exc:
        raise ValidationError(_message(exc)) from None


def _actor(request: HttpRequest) -> str:
    return request.user.get_username()


class QueueForm(forms.ModelForm):
    """A queue's policy, checked by the same validators as ``core.scheduling.policies``."""

    class Meta:
        model = Queue
        fields = ("name", "paused", "max_concurrency", "rate_limit", "rate_period")

    def clean_name(self) -> str:
        return _check(policies.queue_name, self.cleaned_data.get("name"))

    def clean_max_concurrency(self) -> int | None:
        return _check(
            policies.limit_value, "max_concurrency", self.cleaned_data.get("max_concurrency")
        )

    def clean_rate_limit(self) -> int | None:
        return _check(policies.limit_value, "rate_limit", self.cleaned_data.get("rate_limit"))

    def clean_rate_period(self) -> float:
        value = self.cleaned_data.get("rate_period")
        return _check(policies.seconds_value, "rate_period", value)

    def clean(self) -> dict:
        data = super().clean()
        if not self.instance._state.adding:  # the name is read-only, but must be valid to save
            _check(policies.queue_name, self.instance.pk)
        return data


class ChannelPolicyForm(forms.ModelForm):
    """A channel's policy, checked by the same validators as ``core.scheduling.policies``."""

    class Meta:
        model = ChannelPolicy
        fields = ("name", "max_concurrency", "release_interval")

    def clean_name(self) -> str:
        return _check(policies.channel_name, self.cleaned_data.get("name"))

    def clean_max_concurrency(self) -> int | None:
        return _check(
            policies.limit_value, "max_concurrency", self.cleaned_data.get("max_concurrency")
        )

    def clean_release_interval(self) -> float | None:
        value = self.cleaned_data.get("release_interval")
        return _check(policies.optional_seconds, "release_interval", value)

    def clean(self) -> dict:
        data = super().clean()
        if not self.instance._state.adding:  # the name is read-only, but must be valid to save
            _check(policies.channel_name, self.instance.pk)
        if not self.errors:
            try:
                policies.channel_fields(data.get("max_concurrency"), data.get("release_interval"))
            except InvalidPolicyError as exc:
                raise ValidationError(_message(exc)) from None
        return data


@admin.register(Queue)
class QueueAdmin(GuardedAdmin):
    """Queue policies: pause, concurrency and rate limits; saved through
    core.scheduling.policies."""

    form = QueueForm
    list_display = ("name", "paused", "max_concurrency", "rate", "updated_at")
    list_filter = ("paused",)
    search_fields = ("name",)
    search_help_text = "Queue name."
    ordering = ("name",)
    actions = ("pause_selected", "resume_selected")
    fields = ("name", "paused", "max_concurrency", "rate_limit", "rate_period", "updated_at")
    readonly_fields = ("updated_at",)

    @admin.display(description="rate limit", ordering="rate_limit")
    def rate(self, queue: Queue) -> str:
        if queue.rate_limit is None:
            return "-"
        return f"{queue.rate_limit} per {queue.rate_period:g} s"

    def get_readonly_fields(self, request: HttpRequest, obj: Queue | None = None):
        # The name is the key: a renamed row would be another queue's policy.
        return ("name", *self.readonly_fields) if obj else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Queue, form: QueueForm, change: bool) -> None:
        data, actor = form.cleaned_data, _actor(request)
        limits = {
            field: data[field]
            for field in policies.QUEUE_FIELDS
            if not change or field in form.changed_data
        }
        if limits:
            policies.set_queue_policy(obj.name, **limits, actor=actor)
        if "paused" in form.changed_data:  # on add: only when ticked (a new row is not paused)
            (policies.pause_queue if data["paused"] else policies.resume_queue)(
                obj.name, actor=actor
            )
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Queue) -> None:
        super().delete_model(request, obj)
        logger.info("queue name=%s policy deleted by=%s (admin)", obj.name, _actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Queue]) -> None:
        names = list(queryset.values_list("name", flat=True))
        super().delete_queryset(request, queryset)
        for name in names:
            logger.info("queue name=%s policy deleted by=%s (admin)", name, _actor(request))

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Pausing and resuming need the change permission on queues."""
        return request.user.has_perm("queueadmin.change_queue")

    def _each(self, request: HttpRequest, queryset: QuerySet[Queue], paused: bool) -> None:
        action = policies.pause_queue if paused else policies.resume_queue
        done, refused = 0, []
        for name in queryset.values_list("name", flat=True):
            try:
                action(name, actor=_actor(request))
            except InvalidPolicyError as exc:
                refused.append(f"{name}: {exc}")
            else:
                done += 1
        messages.success(request, f"{'Paused' if paused else 'Resumed'} {done} queue(s).")
        for error in refused[:20]:
            messages.error(request, error)

    @admin.action(description="Pause selected queues", permissions=["operate"])
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[Queue]) -> None:
        self._each(request, queryset, True)

    @admin.action(description="Resume selected queues", permissions=["operate"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Queue]) -> None:
        self._each(request, queryset, False)


@admin.register(ChannelPolicy)
class ChannelPolicyAdmin(GuardedAdmin):
    """Channel policies: concurrency and release interval; saved through
    core.scheduling.policies."""

    form = ChannelPolicyForm
    list_display = ("name", "max_concurrency", "release_interval", "last_started_at")
    search_fields = ("name",)
    search_help_text = "Channel name."
    ordering = ("name",)
    fields = ("name", "max_concurrency", "release_interval", "last_started_at", "updated_at")
    readonly_fields = ("last_started_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: ChannelPolicy | None = None):
        return ("name", *self.readonly_fields) if obj else self.readonly_fields

    def save_model(
        self, request: HttpRequest, obj: ChannelPolicy, form: ChannelPolicyForm, change: bool
    ) -> None:
        data = form.cleaned_data
        policies.set_channel_policy(
            obj.name,
            max_concurrency=data["max_concurrency"],
            release_interval=data["release_interval"],
            actor=_actor(request),
        )
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: ChannelPolicy) -> None:
        policies.clear_channel_policy(obj.name, actor=_actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ChannelPolicy]) -> None:
        for name in queryset.values_list("name", flat=True):
            policies.clear_channel_policy(name, actor=_actor(request))
