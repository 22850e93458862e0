"""Admin for wait tokens: complete or expire them so their jobs wake."""

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from core.admin.display import pretty_json
from core.admin.input import GuardedAdmin, id_in
from core.durable import tokens
from core.exceptions import TokenNotFound
from core.models import WaitToken


@admin.register(WaitToken)
class WaitTokenAdmin(GuardedAdmin):
    """Wait tokens, read-only; complete or expire them through core.durable.tokens so jobs wake."""

    list_display = (
        "id",
        "job_link",
        "status",
        "tags",
        "timeout_at",
        "created_at",
        "completed_at",
    )
    list_filter = ("status",)
    search_fields = ("id",)
    search_help_text = "Token id or job id."
    list_select_related = ("job",)
    show_full_result_count = False
    ordering = ("-created_at", "-id")
    actions = ("complete_selected", "expire_selected")
    readonly_fields = (
        "id",
        "job",
        "status",
        "output_json",
        "tags",
        "timeout_at",
        "created_at",
        "completed_at",
    )
    fields = readonly_fields

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lstrip("#")
        if not term:
            return queryset, False
        match = Q(pk=term)
        if (job_id := id_in(term)) is not None:
            match |= Q(job_id=job_id)
        return queryset.filter(match), False

    @admin.display(description="job", ordering="job_id")
    def job_link(self, token: WaitToken) -> str:
        url = reverse("admin:queueadmin_job_change", args=[token.job_id])
        return format_html('<a href="{}">#{} {}</a>', url, token.job_id, token.job.job_type)

    @admin.display(description="output")
    def output_json(self, token: WaitToken) -> str:
        return pretty_json(token.output)

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Completing and expiring need the change permission on tokens."""
        return request.user.has_perm("queueadmin.change_waittoken")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Tokens are created by their jobs (ctx.create_token) or core.durable.tokens.
        return False

    def has_change_permission(self, request: HttpRequest, obj: WaitToken | None = None) -> bool:
        # Only through core.durable.tokens: a completion must wake the job.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: WaitToken | None = None) -> bool:
        # Deleting a waiting token would leave its job waiting for ever.
        return False

    def _finish(self, request: HttpRequest, queryset: QuerySet[WaitToken], action, verb: str):
        done, skipped = 0, []
        for token_id in queryset.values_list("id", flat=True):
            try:
                finished = action(token_id).completed
            except TokenNotFound:  # deleted with its job meanwhile
                finished = False
            if finished:
                done += 1
            else:
                skipped.append(f"{token_id[:8]}…")
        messages.success(request, f"{verb} {done} token(s).")
        if skipped:
            messages.warning(
                request,
                f"Skipped {len(skipped)} token(s) already completed or timed out: "
                f"{', '.join(skipped[:20])}{'…' if len(skipped) > 20 else ''}",
            )

    @admin.action(description="Complete selected tokens with null", permissions=["operate"])
    def complete_selected(self, request: HttpRequest, queryset: QuerySet[WaitToken]) -> None:
        self._finish(
            request,
            queryset,
            lambda token_id: tokens.complete_token(token_id, None, actor=request.user),
            "Completed",
        )

    @admin.action(description="Expire selected tokens", permissions=["operate"])
    def expire_selected(self, request: HttpRequest, queryset: QuerySet[WaitToken]) -> None:
        self._finish(
            request,
            queryset,
            lambda token_id: tokens.expire_token(token_id, actor=request.user),
            "Expired",
        )
