"""manage.py prunebench: prune while a real runworker processes a stream; report stalls."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from core import queue
from core.bench import prunebench
from core.models import Job
from tests.workers import database_url

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def old_completed_jobs(count: int) -> None:
    """``count`` jobs that completed 60 days ago (past every retention)."""
    jobs = queue.enqueue_many([{"job_type": "old"} for _ in range(count)])
    long_ago = timezone.now() - timedelta(days=60)
    Job.objects.filter(pk__in=[j.pk for j in jobs]).update(
        status="completed", started_at=long_ago, completed_at=long_ago
    )


def test_a_phase_reports_latency_and_the_longest_gap_between_claims():
    rows = [(at(0), at(0.1)), (at(1), at(1.5)), (at(2), at(4.0)), (at(9), at(9.1))]
    phase = prunebench.phase(rows, at(0), at(5))
    assert phase.jobs == 3
    assert phase.median_s == pytest.approx(0.5)
    assert phase.max_s == pytest.approx(2.0)
    assert phase.longest_gap_s == pytest.approx(2.5)


def test_a_phase_without_jobs_is_all_zeros():
    assert prunebench.phase([], at(0), at(5)) == prunebench.Phase(0, 0.0, 0.0, 0.0)


@pytest.mark.django_db(transaction=True)
def test_the_bench_prunes_while_a_runworker_processes_the_stream():
    old_completed_jobs(40)
    result = prunebench.run(rate=20, before=1.0, after=0.5, env={"DATABASE_URL": database_url()})
    assert result.pruned_jobs == 40
    assert result.before.jobs > 0
    assert result.unstarted == 0
    assert not Job.objects.filter(job_type="old").exists()
    assert result.stall_s == max(result.during.max_s, result.during.longest_gap_s)


@pytest.mark.django_db(transaction=True)
def test_the_command_refuses_when_nothing_is_old_enough_to_prune():
    queue.enqueue("fresh")
    with pytest.raises(CommandError, match="nothing to prune"):
        call_command("prunebench", stdout=StringIO())
