"""Admin for worker processes, stale heartbeats flagged."""

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from core.admin.input import GuardedAdmin
from core.models import Worker


@admin.register(Worker)
class WorkerAdmin(GuardedAdmin):
    """Worker processes with their last heartbeat; stale ones are flagged."""

    list_display = (
        "id",
        "host",
        "pid",
        "queues",
        "concurrency",
        "running",
        "processed",
        "heartbeat_age",
        "started_at",
    )
    list_filter = ("host",)
    search_fields = ("id", "host")
    readonly_fields = [f.name for f in Worker._meta.fields]

    @admin.display(description="last heartbeat")
    def heartbeat_age(self, worker: Worker) -> str:
        age = (timezone.now() - worker.heartbeat_at).total_seconds()
        text = f"{age:.0f}s ago"
        return format_html("<strong>{} (stale)</strong>", text) if worker.is_stale() else text

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Worker | None = None) -> bool:
        return False
