"""Job dependencies: a job with ``depends_on`` waits until all of them completed.

A new job whose dependencies are not all completed is held in ``waiting``
(no wait_until, no token). ``settle()`` releases held jobs whose
dependencies all completed and cancels, transitively, those whose
dependency failed or was cancelled. Workers call it after each batch of
outcomes (when anything is held) and on every heartbeat, so every path that
ends a job (worker, cancel, bulk cancel, reclaim, dashboard) is covered.
A job can only depend on jobs that already exist and ``depends_on`` cannot
be edited, so cycles cannot form.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.models import EventType, Job, JobEvent, JobStatus
from core.models.jobs import event_metadata

#: Held jobs looked at per settle() call.
BATCH = 1000

#: A job held for its dependencies (not sleeping, not waiting for a token).
HELD = Q(status=JobStatus.WAITING, wait_until__isnull=True, wait_token__isnull=True)


def hold(jobs: list[Job]) -> None:
    """Right after insert (same transaction): hold new jobs whose dependencies
    are not all completed, and cancel those depending on a failed or
    cancelled job."""
    with_deps = [job for job in jobs if job.depends_on and not job.deduplicated]
    if not with_deps:
        return
    statuses = dict(
        Job.objects.filter(id__in={d for job in with_deps for d in job.depends_on}).values_list(
            "id", "status"
        )
    )
    held, doomed = [], {}
    for job in with_deps:
        bad = [d for d in job.depends_on if statuses.get(d) in _DOOMING]
        if bad:
            doomed[job.id] = bad[0]
        elif any(statuses.get(d) != JobStatus.COMPLETED for d in job.depends_on):
            held.append(job.id)
    now = timezone.now()
    if held:
        Job.objects.filter(id__in=held).update(status=JobStatus.WAITING, updated_at=now)
        _events(held, EventType.WAITING, reason="dependencies")
    _cancel(doomed, statuses, now)
    for job in with_deps:
        if job.id in held:
            job.status = JobStatus.WAITING
        elif job.id in doomed:
            job.status = JobStatus.CANCELLED


_DOOMING = (JobStatus.FAILED, JobStatus.CANCELLED)


def waited_on() -> set[int]:
    """Ids of the jobs that jobs held for their dependencies still wait on. Deletes
    keep them: ``settle`` counts a missing dependency as unfinished, so deleting one
    would hold its dependants for ever."""
    kept: set[int] = set()
    for depends_on in Job.objects.filter(HELD).values_list("depends_on", flat=True).iterator():
        kept.update(depends_on)
    return kept


def has_held() -> bool:
    """True when any job is held for its dependencies (a cheap index lookup)."""
    return Job.objects.filter(HELD).exists()


def settle() -> tuple[int, int]:
    """Release held jobs whose dependencies completed, cancel those whose
    dependency failed or was cancelled (repeating until nothing changes, for
    chains); return (released, cancelled)."""
    released = cancelled = 0
    while True:
        r, c = _settle_once()
        released, cancelled = released + r, cancelled + c
        if not c:  # a cancellation may doom the next link of a chain
            return released, cancelled


def _settle_once() -> tuple[int, int]:
    now = timezone.now()
    with transaction.atomic():
        held = dict(
            Job.objects.select_for_update(skip_locked=True)
            .filter(HELD)
            .order_by("id")
            .values_list("id", "depends_on")[:BATCH]
        )
        if not held:
            return 0, 0
        statuses = dict(
            Job.objects.filter(id__in={d for deps in held.values() for d in deps}).values_list(
                "id", "status"
            )
        )
        ready, doomed = [], {}
        for job_id, deps in held.items():
            bad = [d for d in deps if statuses.get(d) in _DOOMING]
            if bad:
                doomed[job_id] = bad[0]
            elif all(statuses.get(d) == JobStatus.COMPLETED for d in deps):
                ready.append(job_id)
        if ready:
            Job.objects.filter(id__in=ready).filter(HELD).update(
                status=JobStatus.PENDING, run_at=now, updated_at=now
            )
            _events(ready, EventType.RESUMED, reason="dependencies completed")
        _cancel(doomed, statuses, now)
    return len(ready), len(doomed)


def _cancel(doomed: dict[int, int], statuses: dict[int, str], now) -> None:
    for job_id, dep in doomed.items():
        reason = f"dependency #{dep} {statuses[dep]}"
        Job.objects.filter(id=job_id).update(
            status=JobStatus.CANCELLED, cancelled_at=now, updated_at=now
        )
        JobEvent.objects.create(
            job_id=job_id,
            type=EventType.CANCELLED,
            metadata=event_metadata(reason=reason, dependency=dep),
        )


def _events(ids: list[int], event: str, **meta) -> None:
    metadata = event_metadata(**meta)
    JobEvent.objects.bulk_create([JobEvent(job_id=i, type=event, metadata=metadata) for i in ids])
