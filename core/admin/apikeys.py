"""Admin for API keys: create one (its secret is shown once), revoke, delete.

Only the key's SHA-256 is stored, and the admin never shows or edits it. The
secret is rendered in the response to the add form itself (a warning message
on a small page of its own), so it is never stored in a cookie or the session
waiting for a redirect, and a reload cannot bring it back.
"""

import logging

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html

from core.admin.input import GuardedAdmin
from core.api.auth import (
    WRITE_PERMISSIONS,
    and_words,
    creator_problem,
    missing_write_permissions,
    write_permissions_error,
)
from core.models import ApiKey

#: The audit trail of key creation and revocation (shared with the dashboard).
logger = logging.getLogger("queueadmin.api")

#: Shown with every new secret.
ONCE = "Copy it now, it will not be shown again."


class ReadWriteFilter(admin.BooleanFieldListFilter):
    """can_write, titled for operators: "By read-write: Yes / No"."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.title = "read-write"


class RevokedFilter(admin.SimpleListFilter):
    title = "revoked"
    parameter_name = "revoked"

    def lookups(self, request, model_admin):
        return (("yes", "Revoked"), ("no", "Not revoked"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(revoked_at__isnull=True)
        return queryset


class ExpiredFilter(admin.SimpleListFilter):
    title = "expired"
    parameter_name = "expired"

    def lookups(self, request, model_admin):
        return (("yes", "Expired"), ("no", "Not expired"))

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(expires_at__lte=now)
        if self.value() == "no":
            return queryset.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        return queryset


class ApiKeyForm(forms.ModelForm):
    """Name, access and expiry; a new or changed expiry must lie in the future.

    Making a key read-write (a new one, or a change to ``can_write``) needs
    ``WRITE_PERMISSIONS``: ``user``, the admin's user (set by ApiKeyAdmin.get_form),
    is refused with an error on the field otherwise, and nothing is saved.
    """

    #: Who saves the form; ApiKeyAdmin.get_form sets it for each request.
    user = None

    class Meta:
        model = ApiKey
        fields = ("name", "can_write", "expires_at")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields.get("can_write")
        self.missing_write_permissions = (
            missing_write_permissions(self.user) if self.user is not None else []
        )
        if field is not None and self.missing_write_permissions and not self.instance.can_write:
            # Greyed out, not Django's ``disabled`` (which would silently drop a ticked
            # box): a forged read-write request is refused by clean_can_write.
            field.widget.attrs["disabled"] = True
            field.help_text = (
                "Unavailable: a read-write key may enqueue, retry and cancel jobs and complete "
                f"tokens, which needs {and_words(WRITE_PERMISSIONS)}; you lack "
                f"{and_words(self.missing_write_permissions)}."
            )

    def clean_can_write(self) -> bool:
        can_write = self.cleaned_data.get("can_write", False)
        if (
            can_write
            and "can_write" in self.changed_data
            and (self.user is None or self.missing_write_permissions)
        ):
            raise forms.ValidationError(
                write_permissions_error(self.missing_write_permissions or list(WRITE_PERMISSIONS))
            )
        return can_write

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("This field is required.")
        return name

    def clean_expires_at(self):
        value = self.cleaned_data.get("expires_at")
        if value is not None and "expires_at" in self.changed_data and value <= timezone.now():
            raise forms.ValidationError("The expiry must lie in the future.")
        return value


@admin.register(ApiKey)
class ApiKeyAdmin(GuardedAdmin):
    """API keys by prefix; the secret is shown once at creation, the hash never."""

    form = ApiKeyForm
    list_display = (
        "name",
        "prefix_text",
        "access",
        "created_by",
        "created_at",
        "last_used_at",
        "expires_at",
        "state",
    )
    list_filter = (("can_write", ReadWriteFilter), RevokedFilter, ExpiredFilter)
    search_fields = ("name", "prefix")
    search_help_text = "Name or prefix (the first characters of the key, e.g. qa_AbCdEfGh)."
    list_select_related = ("created_by",)
    ordering = ("-created_at", "-id")
    actions = ("revoke_selected",)
    #: What the add form asks for; everything else is set by ApiKey.create.
    add_fields = ("name", "can_write", "expires_at")
    change_fields = (
        "name",
        "prefix",
        "can_write",
        "expires_at",
        "state",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiKey]:
        # The hash has no business in any admin page.
        return super().get_queryset(request).defer("key_hash")

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None):
        return self.add_fields if obj is None else self.change_fields

    def get_form(self, request: HttpRequest, obj: ApiKey | None = None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # A class of its own for this request, knowing whose permissions to check.
        return type(form.__name__, (form,), {"user": request.user})

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None):
        if obj is None:
            return ()
        fixed = ["prefix", "state", "created_by", "created_at", "last_used_at", "revoked_at"]
        if not request.user.is_superuser:
            # Turning a read-only key into a read-write one is for superusers.
            fixed.append("can_write")
        return fixed

    @admin.display(description="prefix", ordering="prefix")
    def prefix_text(self, key: ApiKey) -> str:
        return f"{key.prefix}…"

    @admin.display(description="access", ordering="can_write")
    def access(self, key: ApiKey) -> str:
        return "read-write" if key.can_write else "read-only"

    @admin.display(description="state")
    def state(self, key: ApiKey) -> str:
        state = key.state()
        # The creator comes with the row (list_select_related): no query per key. The
        # API also refuses calls whose permission the creator lost (see the dashboard).
        problem = creator_problem(key.created_by) if state == "active" else None
        if problem is not None:
            return format_html("<strong>suspended</strong> ({})", problem)
        return state if state == "active" else format_html("<strong>{}</strong>", state)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        # One button: the response to the add form is where the secret is shown.
        extra_context = {
            **(extra_context or {}),
            "show_save_and_add_another": False,
            "show_save_and_continue": False,
        }
        return super().add_view(request, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: ApiKey, form, change: bool) -> None:
        # ApiKeyForm refused this already; never save a read-write key for such a user.
        if (
            obj.can_write
            and (not change or "can_write" in form.changed_data)
            and missing_write_permissions(request.user)
        ):
            raise PermissionDenied("a read-write key needs " + and_words(WRITE_PERMISSIONS))
        if change:
            super().save_model(request, obj, form, change)
            return
        key, secret = ApiKey.create(
            obj.name, can_write=obj.can_write, expires_at=obj.expires_at, created_by=request.user
        )
        # The admin goes on with ``obj`` (change log, response): make it the created row.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(key, field.attname))
        obj._state.adding = False
        obj._state.db = key._state.db
        obj._secret = secret
        logger.info(
            "api key id=%s prefix=%s name=%r (%s) created by %s in the admin",
            key.pk,
            key.prefix,
            key.name,
            self.access(key),
            request.user.get_username(),
        )

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue=None):
        secret = getattr(obj, "_secret", None)
        if secret is None:  # not created by save_model (cannot happen), nothing to show
            return super().response_add(request, obj, post_url_continue)
        messages.warning(
            request,
            format_html(
                "API key “{}” created: <code>{}</code> — {}",
                obj.name,
                secret,
                ONCE,
            ),
        )
        api_url = request.build_absolute_uri(reverse("queueadmin_api:jobs"))
        links = format_html(
            '<a href="{}">Back to API keys</a>',
            reverse("admin:queueadmin_apikey_changelist"),
        )
        if self.has_view_or_change_permission(request, obj):
            links = format_html(
                '{} · <a href="{}">View this key</a>',
                links,
                reverse("admin:queueadmin_apikey_change", args=[obj.pk]),
            )
        content = format_html(
            "<p>Send it as a bearer token, for example:</p>"
            '<pre>curl -H "Authorization: Bearer {}" {}</pre><p>{}</p>',
            secret,
            api_url,
            links,
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"API key {obj.prefix}… created",
            "subtitle": obj.name,
            "content": content,
            "opts": self.opts,
        }
        # Rendered here, not after a redirect: the message is consumed by this page
        # and never stored; no cache may keep the page.
        response = TemplateResponse(request, "admin/base_site.html", context)
        add_never_cache_headers(response)
        return response

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True):
            key.revoke()
            revoked += 1
            logger.info(
                "api key id=%s prefix=%s name=%r revoked by %s in the admin",
                key.pk,
                key.prefix,
                key.name,
                request.user.get_username(),
            )
        skipped = queryset.count() - revoked
        messages.success(request, f"Revoked {revoked} key(s).")
        if skipped:
            messages.info(request, f"{skipped} key(s) were already revoked.")

    def delete_model(self, request: HttpRequest, obj: ApiKey) -> None:
        logger.info(
            "api key id=%s prefix=%s name=%r deleted by %s in the admin",
            obj.pk,
            obj.prefix,
            obj.name,
            request.user.get_username(),
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            logger.info(
                "api key id=%s prefix=%s name=%r deleted by %s in the admin",
                key.pk,
                key.prefix,
                key.name,
                request.user.get_username(),
            )
        super().delete_queryset(request, queryset)
