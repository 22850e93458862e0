"""Prometheus histograms for /api/metrics, from the per-minute rollup (JobStat):
``queueadmin_job_run_seconds`` per job type, cumulative over the rollup's retention
(STATS_RETENTION_SECONDS, 8 days by default), so a counter may fall when old minutes
are pruned (Prometheus' ``rate()`` reads that as a reset)."""

from core.insights.rollup import run_histograms
from core.models.stats import BOUNDS

NAME = "queueadmin_job_run_seconds"
HELP = (
    "Run time (started to completed) of completed jobs per job type, from the per-minute "
    "rollup: cumulative over the minutes it keeps (STATS_RETENTION_SECONDS)."
)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def run_seconds_family() -> str:
    """The run-time histogram family in the text format 0.0.4, or "" without any job."""
    histograms = run_histograms()
    if not histograms:
        return ""
    lines = [f"# HELP {NAME} {HELP}", f"# TYPE {NAME} histogram"]
    for job_type, hist in sorted(histograms.items()):
        label = f'job_type="{_label(job_type)}"'
        for bound, count in zip(BOUNDS, hist.buckets, strict=True):
            lines.append(f'{NAME}_bucket{{{label},le="{bound!r}"}} {count}')
        lines.append(f'{NAME}_bucket{{{label},le="+Inf"}} {hist.count}')
        lines.append(f"{NAME}_sum{{{label}}} {hist.sum!r}")
        lines.append(f"{NAME}_count{{{label}}} {hist.count}")
    return "\n".join(lines) + "\n"
