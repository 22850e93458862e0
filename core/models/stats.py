"""Per-minute job statistics (JobStat), rolled up from finished jobs by the ``rollup``
maintenance task so that charts and histograms never scan the job table.

Run and wait times are kept as Prometheus-style cumulative histograms: one column
per bound in ``BOUNDS`` counting the jobs whose time was at most that many seconds,
plus their count (the ``+Inf`` bucket) and their sum. Cumulative columns of several
rows add up to the cumulative histogram of them all.
"""

from django.db import models

#: Upper bounds (seconds) of the run- and wait-time histogram buckets; +Inf is ``*_count``.
BOUNDS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
)

#: The two timings kept: run (started → completed) and wait (run_at → started).
TIMINGS = ("run", "wait")


def bucket_column(timing: str, bound: float) -> str:
    """The column counting ``timing`` values at most ``bound`` seconds: run_le_0_005."""
    return f"{timing}_le_{bound:g}".replace(".", "_")


def bucket_columns(timing: str) -> list[str]:
    """The cumulative bucket columns of ``timing``, in the order of BOUNDS."""
    return [bucket_column(timing, bound) for bound in BOUNDS]


class StatColumns(models.Model):
    """What a statistics row counts for one (queue, job type) over its period: jobs
    finished, their run and wait time histograms (completed jobs only), and the
    pending jobs sampled."""

    queue = models.CharField(max_length=100)
    job_type = models.CharField(max_length=200)
    #: Jobs that completed / failed for good in the period.
    completed = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    #: Completed jobs with a run time (started → completed), and its sum in seconds.
    run_count = models.IntegerField(default=0)
    run_sum = models.FloatField(default=0.0)
    #: Completed jobs with a wait time (due → started), and its sum in seconds.
    wait_count = models.IntegerField(default=0)
    wait_sum = models.FloatField(default=0.0)
    #: Pending jobs of this queue and type at the sample (0: not sampled; only the latest
    #: closed minute of each rollup run is); an hour keeps its highest minute.
    depth = models.IntegerField(default=0)

    class Meta:
        abstract = True


for _timing in TIMINGS:
    for _column in bucket_columns(_timing):
        StatColumns.add_to_class(_column, models.IntegerField(default=0))


class JobStat(StatColumns):
    """One minute of one (queue, job type), rolled up from the jobs finished in it.

    The row with an empty queue and job type is all zeros: it marks the minute as
    rolled up (so the rollup knows where to go on after a pause).
    """

    #: The minute's start (UTC); the row covers [minute, minute + 60 s).
    minute = models.DateTimeField()

    class Meta:
        ordering = ["-minute", "queue", "job_type"]
        verbose_name = "job statistics minute"
        verbose_name_plural = "job statistics (per minute)"
        constraints = [
            models.UniqueConstraint(
                fields=["minute", "queue", "job_type"], name="jobstat_minute_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["job_type", "minute"], name="jobstat_type_idx"),
            models.Index(fields=["queue", "minute"], name="jobstat_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.queue}/{self.job_type} at {self.minute:%Y-%m-%d %H:%M}"


class JobStatHour(StatColumns):
    """One hour of one (queue, job type): the sum of its JobStat minutes (depth: the
    highest), so that the 7-day charts and the histograms read 60 times fewer rows."""

    #: The hour's start (UTC); the row covers [hour, hour + 3600 s).
    hour = models.DateTimeField()

    class Meta:
        ordering = ["-hour", "queue", "job_type"]
        verbose_name = "job statistics hour"
        verbose_name_plural = "job statistics (per hour)"
        constraints = [
            models.UniqueConstraint(fields=["hour", "queue", "job_type"], name="jobstathour_uniq")
        ]
        indexes = [
            models.Index(fields=["job_type", "hour"], name="jobstathour_type_idx"),
            models.Index(fields=["queue", "hour"], name="jobstathour_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.queue}/{self.job_type} at {self.hour:%Y-%m-%d %H}h"
