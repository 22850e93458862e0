"""Admin for cron schedules: list, pause, resume, run now."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from core.admin.display import pretty_json
from core.admin.input import GuardedAdmin
from core.exceptions import QueueError, ScheduleNotFound
from core.jobs.redaction import redact
from core.models import CronSchedule, CronStatus
from core.scheduling import cron


@admin.register(CronSchedule)
class CronScheduleAdmin(GuardedAdmin):
    """Cron schedules, read-only: they are created and edited on the dashboard's Cron page
    (validated by core.scheduling.cron); pause, resume and run now go through it too."""

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
        return pretty_json(redact(schedule.payload))

    @admin.display(description="job options")
    def options_json(self, schedule: CronSchedule) -> str:
        return pretty_json(schedule.options)

    @admin.display(description="dashboard")
    def dashboard_link(self, schedule: CronSchedule) -> str:
        url = reverse("queueadmin:cron-edit", args=[schedule.pk])
        return format_html('<a href="{}">Edit on the dashboard</a>', url)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {
            "subtitle": "Create and edit schedules on the dashboard's Cron page (/cron/), "
            "which checks the expression, time zone and job.",
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Pausing needs the change permission on schedules."""
        return request.user.has_perm("queueadmin.change_cronschedule")

    def has_run_permission(self, request: HttpRequest) -> bool:
        """Resume and run now make the schedule enqueue jobs: they need add_job too
        (a cron permission alone never grants enqueueing)."""
        return self.has_operate_permission(request) and request.user.has_perm("queueadmin.add_job")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Through core.scheduling.cron (like the dashboard's form): it validates and
        # computes the next run.
        return False

    def has_change_permission(self, request: HttpRequest, obj: CronSchedule | None = None) -> bool:
        # Edits go through core.scheduling.cron.edit_cron, which recomputes the next run.
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

    @admin.action(description="Resume selected schedules", permissions=["run"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[CronSchedule]) -> None:
        self._each(request, queryset, cron.resume_cron, "Resumed", CronStatus.ACTIVE)

    @admin.action(description="Run selected schedules now", permissions=["run"])
    def run_selected(self, request: HttpRequest, queryset: QuerySet[CronSchedule]) -> None:
        jobs = self._each(request, queryset, cron.run_cron_now, "Ran")
        if jobs:
            messages.info(request, "Enqueued job(s) " + ", ".join(f"#{job.pk}" for job in jobs))
