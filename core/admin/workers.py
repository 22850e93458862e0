"""Admin for worker processes (stale heartbeats flagged; quiet, stop and resume them
through ``core.worker.orders``) and the history of worker deaths."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from core.admin.display import pretty_json
from core.admin.input import GuardedAdmin
from core.models import Worker, WorkerDeath
from core.worker import orders


@admin.register(Worker)
class WorkerAdmin(GuardedAdmin):
    """Worker processes with their last heartbeat and order; stale ones are flagged."""

    list_display = (
        "id",
        "host",
        "pid",
        "queues",
        "concurrency",
        "running",
        "idle",
        "processed",
        "state",
        "order_given",
        "heartbeat_age",
        "started_at",
    )
    list_filter = ("host", "state", "order")
    search_fields = ("id", "host")
    readonly_fields = [f.name for f in Worker._meta.fields]
    actions = ("quiet_selected", "stop_selected", "resume_selected")

    @admin.display(description="last heartbeat")
    def heartbeat_age(self, worker: Worker) -> str:
        age = (timezone.now() - worker.heartbeat_at).total_seconds()
        text = f"{age:.0f}s ago"
        return format_html("<strong>{} (stale)</strong>", text) if worker.is_stale() else text

    @admin.display(description="order", ordering="order")
    def order_given(self, worker: Worker) -> str:
        if not worker.order:
            return "-"
        return f"{worker.order} by {worker.ordered_by}"

    def has_order_permission(self, request: HttpRequest) -> bool:
        """Quiet, stop and resume need the change permission on workers."""
        return request.user.has_perm("queueadmin.change_worker")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Worker | None = None) -> bool:
        # A worker's row is written by its process; operators give orders (actions).
        return False

    def _order(self, request: HttpRequest, queryset: QuerySet[Worker], order: str) -> None:
        ids = list(queryset.values_list("id", flat=True))
        count = orders.order_workers(order, ids, request.user.get_username())
        messages.success(request, f"{order.capitalize()} ordered to {count} worker(s).")
        skipped = len(ids) - count
        if skipped:
            messages.warning(
                request,
                f"Skipped {skipped} worker(s): stale, ordered to stop, or with that order already.",
            )

    @admin.action(
        description="Quiet selected workers (finish running jobs, claim nothing new)",
        permissions=["order"],
    )
    def quiet_selected(self, request: HttpRequest, queryset: QuerySet[Worker]) -> None:
        self._order(request, queryset, orders.QUIET)

    @admin.action(
        description="Stop selected workers (finish running jobs, then exit)", permissions=["order"]
    )
    def stop_selected(self, request: HttpRequest, queryset: QuerySet[Worker]) -> None:
        self._order(request, queryset, orders.STOP)

    @admin.action(description="Resume selected quiet workers", permissions=["order"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Worker]) -> None:
        self._order(request, queryset, orders.RESUME)


@admin.register(WorkerDeath)
class WorkerDeathAdmin(GuardedAdmin):
    """Workers that ended without being asked to, newest first; read-only."""

    list_display = ("at", "worker", "host", "pid", "reason", "detail_summary")
    list_filter = ("reason", "host", "at")
    search_fields = ("worker", "host")
    search_help_text = "Worker id or host."
    date_hierarchy = "at"
    show_full_result_count = False
    readonly_fields = ("worker", "host", "pid", "reason", "detail_json", "at")
    fields = readonly_fields

    @admin.display(description="detail")
    def detail_summary(self, death: WorkerDeath) -> str:
        detail = death.detail if isinstance(death.detail, dict) else {}
        return ", ".join(f"{key}={value}" for key, value in detail.items())[:200] or "-"

    @admin.display(description="detail")
    def detail_json(self, death: WorkerDeath) -> str:
        return pretty_json(death.detail)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Written by maintenance and the supervisor when they notice a death.
        return False

    def has_change_permission(self, request: HttpRequest, obj: WorkerDeath | None = None) -> bool:
        return False
