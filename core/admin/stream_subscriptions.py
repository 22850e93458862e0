"""Admin for push subscriptions: settings checked by core.streams.subscriptions (the same
checks as ``add_subscription``), delivery state read-only, activate/deactivate."""

import logging
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from core.admin.display import pretty_json
from core.admin.input import GuardedAdmin
from core.admin.streams import actor
from core.exceptions import InvalidStreamError, TopicNotFound
from core.models import Subscription
from core.streams import subscriptions
from core.streams.endpoints import (
    PASSWORD_MASK,
    endpoint_password,
    mask_secrets,
    masked_endpoint,
    unmask_endpoint,
)

logger = logging.getLogger("queueadmin.streams")


def field_error(exc: InvalidStreamError | TopicNotFound) -> tuple[str, str]:
    """The field a core.streams.subscriptions error names, and its message for that field:
    ``"batch_size: must be from 1 to 10000, got 0"`` → ("batch_size", "Must be …")."""
    if isinstance(exc, TopicNotFound):
        field, text = "topic", str(exc)
    else:
        field, _, text = str(exc).partition(": ")
    return field, text[:1].upper() + text[1:]


class MaskedEndpointInput(forms.TextInput):
    """A text input showing an endpoint's password as ***: the page never holds it."""

    def format_value(self, value):
        return super().format_value(masked_endpoint(value) if value else value)


class SubscriptionForm(forms.ModelForm):
    """A push subscription's settings; the delivery state is the worker's."""

    # Plain text: core.streams.subscriptions checks the URL. (The model's URLField would
    # refuse hosts the API accepts, such as http://receiver:8080/, and quietly
    # add https:// to a URL typed without a scheme.)
    endpoint = forms.CharField(
        max_length=2000,
        widget=MaskedEndpointInput,
        help_text=(
            "An http:// or https:// URL. A user:password@ in it is sent as HTTP Basic "
            f"authentication; the password is shown as {PASSWORD_MASK}: leave "
            f"{PASSWORD_MASK} to keep it."
        ),
    )

    class Meta:
        model = Subscription
        fields = (
            "name",
            "topic",
            "group",
            "partitions",
            "endpoint",
            "batch_size",
            "interval",
            "timeout",
            "active",
        )

    def clean_endpoint(self) -> str:
        """A password sent as *** is the stored one (same user and host only)."""
        value = self.cleaned_data["endpoint"]
        try:
            return unmask_endpoint(value, self.instance.endpoint if self.instance.pk else "")
        except ValueError as exc:
            raise forms.ValidationError(str(exc)[:1].upper() + str(exc)[1:]) from None

    def full_clean(self) -> None:
        super().full_clean()
        # The form comes back with its errors, the endpoint's password masked: a new
        # password typed in it must be typed again, or *** would keep the old one.
        if self.is_bound and self._errors and "endpoint" not in self._errors:
            sent = self.data.get(self.add_prefix("endpoint")) or ""
            if endpoint_password(sent) not in (None, PASSWORD_MASK):
                self.add_error("endpoint", "Type the password again: it is not shown back.")

    def clean(self) -> dict:
        """Check the settings with ``core.streams.subscriptions.clean_subscription``; its
        error goes on the field it names."""
        data = super().clean()
        if self.errors:  # a value the form could not read: that is fixed first
            return data
        topic = data.get("topic")
        try:
            values = subscriptions.clean_subscription(
                data.get("name"),
                topic.name if topic is not None else None,
                data.get("group"),
                data.get("endpoint"),
                partitions=data.get("partitions"),
                batch_size=data.get("batch_size"),
                interval=data.get("interval"),
                timeout=data.get("timeout"),
                instance=self.instance,
                # The admin saves in the transaction it validates in: the topic
                # row stays locked until the subscription is written.
                lock=transaction.get_connection().in_atomic_block,
            )
        except (InvalidStreamError, TopicNotFound) as exc:
            field, message = field_error(exc)
            self.add_error(field if field in self.fields else None, message)
            return data
        data.update(values)
        return data

    def _get_validation_exclusions(self) -> set[str]:
        # The endpoint was checked by clean_subscription: skip the model's URLValidator.
        return super()._get_validation_exclusions() | {"endpoint"}


@admin.register(Subscription)
class SubscriptionAdmin(GuardedAdmin):
    """Push subscriptions: settings, delivery state (read-only), activate/deactivate."""

    form = SubscriptionForm
    list_display = (
        "name",
        "topic",
        "group",
        "endpoint_masked",
        "active",
        "last_success_at",
        "last_error_at",
    )
    list_filter = ("active", "topic")
    # The endpoint is searched as shown (masked, in Python): a search must not
    # find out its password one character at a time.
    search_fields = ("name", "group")
    search_help_text = "Subscription name, group or endpoint."
    ordering = ("name",)
    actions = ("activate_selected", "deactivate_selected")
    fields = (
        "name",
        "topic",
        "group",
        "partitions",
        "endpoint",
        "batch_size",
        "interval",
        "timeout",
        "active",
        "last_success_at",
        "last_error_at",
        "last_error_text",
        "next_attempt_json",
        "created_at",
    )
    readonly_fields = (
        "endpoint_masked",
        "last_success_at",
        "last_error_at",
        "last_error_text",
        "next_attempt_json",
        "created_at",
    )

    @admin.display(description="endpoint", ordering="endpoint")
    def endpoint_masked(self, sub: Subscription) -> str:
        return masked_endpoint(sub.endpoint)

    def get_fields(self, request: HttpRequest, obj: Subscription | None = None):
        fields = super().get_fields(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            # Read-only, the endpoint would be shown as stored: show it masked.
            fields = ["endpoint_masked" if f == "endpoint" else f for f in fields]
        return fields

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        found, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().lower()
        if term:
            rows = queryset.values_list("pk", "endpoint")
            ids = [pk for pk, endpoint in rows if term in masked_endpoint(endpoint).lower()]
            found = found | queryset.filter(pk__in=ids)
        return found, duplicates

    @admin.display(description="last error")
    def last_error_text(self, sub: Subscription) -> str:
        if not sub.last_error:
            return "-"
        error = mask_secrets(sub.last_error, sub.endpoint)
        return format_html('<pre class="subscription-error">{}</pre>', error)

    @admin.display(description="next attempt per partition")
    def next_attempt_json(self, sub: Subscription) -> str:
        return pretty_json(sub.next_attempt)

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Activating and deactivating need the change permission on subscriptions."""
        return request.user.has_perm("queueadmin.change_subscription")

    def _set_active(self, request: HttpRequest, queryset: QuerySet, active: bool) -> None:
        names = list(queryset.exclude(active=active).values_list("name", flat=True))
        changes: dict[str, Any] = {"active": active}
        if active:
            changes["next_attempt"] = {}  # deliver at once, not after an old backoff
        done = Subscription.objects.filter(name__in=names).update(**changes)
        verb = "Activated" if active else "Deactivated"
        messages.success(request, f"{verb} {done} subscription(s).")
        for name in names:
            logger.info(
                "subscription %s name=%r by %s (admin)",
                "activated" if active else "deactivated",
                name,
                actor(request),
            )

    @admin.action(description="Activate selected subscriptions", permissions=["operate"])
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        self._set_active(request, queryset, True)

    @admin.action(description="Deactivate selected subscriptions", permissions=["operate"])
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        self._set_active(request, queryset, False)
