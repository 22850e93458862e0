"""Admin for the job statistics the rollup writes (JobStat per minute, JobStatHour per
hour): read-only lists, filtered by queue and job type."""

from django.contrib import admin
from django.http import HttpRequest

from core.admin.input import GuardedAdmin
from core.models import JobStat, JobStatHour

_COUNTS = (
    "queue",
    "job_type",
    "completed",
    "failed",
    "run_count",
    "run_sum",
    "wait_count",
    "wait_sum",
    "depth",
)


class ReadOnlyStatsAdmin(GuardedAdmin):
    """Statistics rows are written by the rollup task only: nothing to add or change."""

    list_filter = ("queue", "job_type")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(JobStat)
class JobStatAdmin(ReadOnlyStatsAdmin):
    """Per-minute job statistics per queue and job type, newest first."""

    list_display = ("minute", *_COUNTS)
    readonly_fields = [f.name for f in JobStat._meta.fields]


@admin.register(JobStatHour)
class JobStatHourAdmin(ReadOnlyStatsAdmin):
    """Per-hour job statistics per queue and job type, newest first."""

    list_display = ("hour", *_COUNTS)
    readonly_fields = [f.name for f in JobStatHour._meta.fields]
