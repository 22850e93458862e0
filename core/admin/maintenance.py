"""Admin for the maintenance tasks' locks and last results."""

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from core.admin.display import pretty_json
from core.admin.input import GuardedAdmin
from core.models import MaintenanceTask


@admin.register(MaintenanceTask)
class MaintenanceTaskAdmin(GuardedAdmin):
    """Maintenance tasks: when each last ran, what it did, which worker holds it; read-only."""

    list_display = ("name", "last_run_at", "result_summary", "locked_by", "locked_until")
    ordering = ("name",)
    readonly_fields = ("name", "last_run_at", "last_result_json", "locked_by", "locked_until")
    fields = readonly_fields

    @admin.display(description="last result")
    def result_summary(self, task: MaintenanceTask) -> str:
        result = task.last_result or {}
        if not result:
            return ""
        text = f"{result.get('summary', '')} ({result.get('seconds', 0):.1f} s)"
        return text if result.get("ok", True) else format_html("<strong>{}</strong>", text)

    @admin.display(description="last result")
    def last_result_json(self, task: MaintenanceTask) -> str:
        return pretty_json(task.last_result)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: MaintenanceTask | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: MaintenanceTask | None = None
    ) -> bool:
        # A deleted row is recreated at the next heartbeat; deleting a held one frees its lock.
        return False
