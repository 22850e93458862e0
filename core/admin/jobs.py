"""Admin for jobs and their events: inspect, retry, cancel, delete.

Payload, output, step data and event metadata show the REDACT setting's keys as
"•••". Deletes go through the queue API: processing jobs are refused, events go
with their job, and each delete is logged with the user.
"""

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from core import queue
from core.admin.display import pretty_json
from core.admin.input import GuardedAdmin, id_in
from core.exceptions import JobStateError
from core.jobs.redaction import redact
from core.models import Job, JobEvent, JobStatus


class JobEventInline(admin.TabularInline):
    """A job's history, newest last, read-only."""

    model = JobEvent
    extra = 0
    can_delete = False
    fields = ("type", "at", "metadata_json")
    readonly_fields = fields

    @admin.display(description="metadata")
    def metadata_json(self, event: JobEvent) -> str:
        return pretty_json(redact(event.metadata))

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
class JobAdmin(GuardedAdmin):
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
    # "delete_selected" replaces Django's own, which would load every event and delete
    # running jobs too.
    actions = ("retry_selected", "cancel_selected", "delete_selected")
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
                    "lock_timeout",
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
        return pretty_json(redact(job.payload))

    @admin.display(description="output")
    def output_json(self, job: Job) -> str:
        return pretty_json(redact(job.output))

    @admin.display(description="errors per attempt")
    def errors_json(self, job: Job) -> str:
        return pretty_json(job.errors)

    @admin.display(description="step data")
    def step_data_json(self, job: Job) -> str:
        return pretty_json(redact(job.step_data))

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lstrip("#")
        if not term:
            return queryset, False
        match = Q(job_type=term) | Q(idempotency_key=term)
        if (pk := id_in(term)) is not None:
            match |= Q(pk=pk)
        return queryset.filter(match), False

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Retry and cancel need the change permission on jobs."""
        return request.user.has_perm("queueadmin.change_job")

    def has_retry_permission(self, request: HttpRequest) -> bool:
        """A retry runs jobs again: like enqueueing, it needs add_job too."""
        return self.has_operate_permission(request) and request.user.has_perm("queueadmin.add_job")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Jobs are enqueued through the queue API, which validates them.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        # Edits go through the queue API (pending jobs only, validated, recorded).
        return False

    @admin.action(description="Retry selected jobs", permissions=["retry"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        _apply(request, queryset, queue.retry_job, "Retried")

    @admin.action(description="Cancel selected jobs", permissions=["operate"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        _apply(request, queryset, queue.cancel_job, "Cancelled")

    def has_delete_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        # A processing job must be cancelled first, so its worker sees the abort.
        if obj is not None and obj.status == JobStatus.PROCESSING:
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request: HttpRequest, obj: Job) -> None:
        try:
            queue.delete_job(obj.pk, actor=request.user)
        except JobStateError as exc:  # it started meanwhile
            messages.error(request, str(exc))

    @admin.action(description="Delete selected jobs with their events", permissions=["delete"])
    def delete_selected(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        ids = list(queryset.values_list("id", flat=True))
        deleted = queue.delete_jobs(ids=ids, actor=request.user)
        messages.success(request, f"Deleted {deleted} job(s) with their events.")
        if deleted < len(ids):
            messages.warning(
                request,
                f"Skipped {len(ids) - deleted} job(s): processing (cancel them first), or a "
                "job held for its dependencies waits on them.",
            )


@admin.register(JobEvent)
class JobEventAdmin(GuardedAdmin):
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
        job_id = id_in(term)
        return queryset.none() if job_id is None else queryset.filter(job_id=job_id), False

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
        return pretty_json(redact(event.metadata))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: JobEvent | None = None) -> bool:
        return False
