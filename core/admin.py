"""Django admin for jobs, their events, wait tokens and workers."""

import json

from django.contrib import admin, messages
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from core import cron, queue, tokens
from core.exceptions import JobStateError, QueueError, ScheduleNotFound, TokenNotFound
from core.models import (
    CronSchedule,
    CronStatus,
    Job,
    JobEvent,
    MaintenanceTask,
    WaitToken,
    Worker,
)


def pretty_json(value: object) -> str:
    """Render JSON indented inside an escaped <pre> block."""
    text = json.dumps(value, indent=2, sort_keys=True, cls=DjangoJSONEncoder, ensure_ascii=False)
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)


class JobEventInline(admin.TabularInline):
    """A job's history, newest last, read-only."""

    model = JobEvent
    extra = 0
    can_delete = False
    fields = ("type", "at", "metadata_json")
    readonly_fields = fields

    @admin.display(description="metadata")
    def metadata_json(self, event: JobEvent) -> str:
        return pretty_json(event.metadata)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def _apply(request: HttpRequest, jobs: QuerySet[Job], action, verb: str) -> None:
    done, refused = 0, []
    for job_id in jobs.values_list("id", flat=True):
        try:
            action(job_id, actor=request.user)
            done += 1
        except JobStateError:
            refused.append(str(job_id))
    messages.success(request, f"{verb} {done} job(s).")
    if refused:
        messages.warning(
            request,
            f"Skipped {len(refused)} job(s) whose status does not allow it: "
            f"{', '.join(refused[:20])}{'…' if len(refused) > 20 else ''}",
        )


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Jobs: filter, search by id/type/idempotency key, retry or cancel in bulk."""

    list_display = (
        "id",
        "job_type",
        "queue",
        "status",
        "priority",
        "attempts_display",
        "progress",
        "run_at",
        "created_at",
    )
    list_filter = ("status", "queue", "job_type")
    search_fields = ("job_type", "idempotency_key")
    search_help_text = "Job id, exact job type or idempotency key."
    ordering = ("-id",)
    show_full_result_count = False
    list_per_page = 50
    actions = ("retry_selected", "cancel_selected")
    inlines = (JobEventInline,)
    readonly_fields = (
        "status",
        "attempts",
        "progress",
        "payload_json",
        "output_json",
        "errors_json",
        "step_data_json",
        "locked_by",
        "locked_until",
        "wait_until",
        "wait_token",
        "created_at",
        "updated_at",
        "started_at",
        "completed_at",
        "failed_at",
        "cancelled_at",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "job_type",
                    "queue",
                    "channel",
                    "status",
                    "priority",
                    "run_at",
                    "tags",
                    "idempotency_key",
                    "payload_json",
                )
            },
        ),
        ("Outcome", {"fields": ("progress", "output_json", "attempts", "errors_json")}),
        (
            "Retries and timeout",
            {
                "fields": (
                    "max_attempts",
                    "retry_delay",
                    "retry_backoff",
                    "retry_delay_max",
                    "timeout",
                    "force_kill_on_timeout",
                    "dead_letter_job_type",
                )
            },
        ),
        (
            "Durable state",
            {
                "fields": (
                    "step_data_json",
                    "depends_on",
                    "wait_until",
                    "wait_token",
                    "locked_by",
                    "locked_until",
                )
            },
        ),
        (
            "Timestamps",
            {
                "fields": (
                    "created_at",
                    "updated_at",
                    "started_at",
                    "completed_at",
                    "failed_at",
                    "cancelled_at",
                )
            },
        ),
    )

    @admin.display(description="attempts", ordering="attempts")
    def attempts_display(self, job: Job) -> str:
        return f"{job.attempts}/{job.max_attempts}"

    @admin.display(description="payload")
    def payload_json(self, job: Job) -> str:
        return pretty_json(job.payload)

    @admin.display(description="output")
    def output_json(self, job: Job) -> str:
        return pretty_json(job.output)

    @admin.display(description="errors per attempt")
    def errors_json(self, job: Job) -> str:
        return pretty_json(job.errors)

    @admin.display(description="step data")
    def step_data_json(self, job: Job) -> str:
        return pretty_json(job.step_data)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lstrip("#")
        if not term:
            return queryset, False
        match = Q(job_type=term) | Q(idempotency_key=term)
        if term.isdigit():
            match |= Q(pk=int(term))
        return queryset.filter(match), False

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Retry and cancel need the change permission on jobs."""
        return request.user.has_perm("core.change_job")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Jobs are enqueued through the queue API, which validates them.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        # Edits go through the queue API (pending jobs only, validated, recorded).
        return False

    @admin.action(description="Retry selected jobs", permissions=["operate"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        _apply(request, queryset, queue.retry_job, "Retried")

    @admin.action(description="Cancel selected jobs", permissions=["operate"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        _apply(request, queryset, queue.cancel_job, "Cancelled")


@admin.register(JobEvent)
class JobEventAdmin(admin.ModelAdmin):
    """The event history of every job."""

    list_display = ("id", "job_link", "type", "at", "actor")
    list_filter = ("type",)
    search_fields = ("job__id",)
    search_help_text = "Job id."
    list_select_related = ("job",)
    show_full_result_count = False
    ordering = ("-id",)
    readonly_fields = ("job", "type", "at", "metadata_json")
    fields = readonly_fields

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lstrip("#")
        if not term:
            return queryset, False
        return queryset.filter(job_id=int(term)) if term.isdigit() else queryset.none(), False

    @admin.display(description="job", ordering="job_id")
    def job_link(self, event: JobEvent) -> str:
        return format_html(
            '<a href="../job/{}/change/">#{} {}</a>', event.job_id, event.job_id, event.job.job_type
        )

    @admin.display(description="actor")
    def actor(self, event: JobEvent) -> str:
        return event.metadata.get("actor", "")

    @admin.display(description="metadata")
    def metadata_json(self, event: JobEvent) -> str:
        return pretty_json(event.metadata)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: JobEvent | None = None) -> bool:
        return False


@admin.register(WaitToken)
class WaitTokenAdmin(admin.ModelAdmin):
    """Wait tokens, read-only; complete or expire them through core.tokens so jobs wake."""

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
        if term.isascii() and term.isdigit() and int(term) < 2**63:
            match |= Q(job_id=int(term))
        return queryset.filter(match), False

    @admin.display(description="job", ordering="job_id")
    def job_link(self, token: WaitToken) -> str:
        url = reverse("admin:core_job_change", args=[token.job_id])
        return format_html('<a href="{}">#{} {}</a>', url, token.job_id, token.job.job_type)

    @admin.display(description="output")
    def output_json(self, token: WaitToken) -> str:
        return pretty_json(token.output)

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Completing and expiring need the change permission on tokens."""
        return request.user.has_perm("core.change_waittoken")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Tokens are created by their jobs (ctx.create_token) or core.tokens.
        return False

    def has_change_permission(self, request: HttpRequest, obj: WaitToken | None = None) -> bool:
        # Only through core.tokens: a completion must wake the job.
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


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
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


@admin.register(MaintenanceTask)
class MaintenanceTaskAdmin(admin.ModelAdmin):
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


@admin.register(CronSchedule)
class CronScheduleAdmin(admin.ModelAdmin):
    """Cron schedules, read-only: they are created and edited on the dashboard's Cron page
    (validated by core.cron); pause, resume and run now go through core.cron too."""

    list_display = (
        "name",
        "expression",
        "timezone",
        "status",
        "next_run_at",
        "last_enqueued_at",
        "skipped",
        "dashboard_link",
    )
    list_filter = ("status", "timezone")
    search_fields = ("name", "job_type")
    search_help_text = "Schedule name or job type."
    ordering = ("name",)
    actions = ("pause_selected", "resume_selected", "run_selected")
    readonly_fields = (
        "name",
        "expression",
        "timezone",
        "status",
        "job_type",
        "payload_json",
        "options_json",
        "allow_overlap",
        "next_run_at",
        "last_enqueued_at",
        "last_job",
        "skipped",
        "last_skipped_at",
        "created_at",
        "updated_at",
        "dashboard_link",
    )
    fields = readonly_fields

    @admin.display(description="payload")
    def payload_json(self, schedule: CronSchedule) -> str:
        return pretty_json(schedule.payload)

    @admin.display(description="job options")
    def options_json(self, schedule: CronSchedule) -> str:
        return pretty_json(schedule.options)

    @admin.display(description="dashboard")
    def dashboard_link(self, schedule: CronSchedule) -> str:
        url = reverse("dashboard:cron-edit", args=[schedule.pk])
        return format_html('<a href="{}">Edit on the dashboard</a>', url)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {
            "subtitle": "Create and edit schedules on the dashboard's Cron page (/cron/), "
            "which checks the expression, time zone and job.",
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Pause, resume and run now need the change permission on schedules."""
        return request.user.has_perm("core.change_cronschedule")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Through core.cron (the dashboard's form): it validates and computes the next run.
        return False

    def has_change_permission(self, request: HttpRequest, obj: CronSchedule | None = None) -> bool:
        # Edits go through core.cron.edit_cron, which recomputes the next run.
        return False

    def _each(self, request, queryset, action, verb: str, skip_status: str | None = None):
        done, skipped, refused = [], [], []
        for name, status in queryset.values_list("name", "status"):
            if status == skip_status:
                skipped.append(name)
                continue
            try:
                done.append(action(name))
            except ScheduleNotFound:  # removed meanwhile
                skipped.append(name)
            except QueueError as exc:
                refused.append(f"{name}: {exc}")
        messages.success(request, f"{verb} {len(done)} schedule(s).")
        if skipped:
            messages.warning(
                request,
                f"Skipped {len(skipped)} schedule(s) already {skip_status or 'gone'}: "
                f"{', '.join(skipped[:20])}{'…' if len(skipped) > 20 else ''}",
            )
        for error in refused[:20]:
            messages.error(request, error)
        return done

    @admin.action(description="Pause selected schedules", permissions=["operate"])
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[CronSchedule]) -> None:
        self._each(request, queryset, cron.pause_cron, "Paused", CronStatus.PAUSED)

    @admin.action(description="Resume selected schedules", permissions=["operate"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[CronSchedule]) -> None:
        self._each(request, queryset, cron.resume_cron, "Resumed", CronStatus.ACTIVE)

    @admin.action(description="Run selected schedules now", permissions=["operate"])
    def run_selected(self, request: HttpRequest, queryset: QuerySet[CronSchedule]) -> None:
        jobs = self._each(request, queryset, cron.run_cron_now, "Ran")
        if jobs:
            messages.info(request, "Enqueued job(s) " + ", ".join(f"#{job.pk}" for job in jobs))
