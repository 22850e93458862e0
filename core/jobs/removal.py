"""Deleting jobs with what belongs to them (events, wait tokens): bulk delete and
retention pruning both go through ``delete_with_history``."""

from collections import Counter
from collections.abc import Collection, Iterable

from core.drivers import get_driver
from core.jobs import notifications
from core.models import Job, JobEvent, WaitToken


def delete_with_history(
    ids: Iterable[int],
    kept: Collection[int],
    *,
    statuses: Collection[str] | None = None,
    notify: bool = False,
) -> Counter[str]:
    """Delete the jobs ``ids`` but those in ``kept`` (see dependencies.waited_on), with
    their events and tokens, in the caller's transaction (whose lock on the rows the
    caller took); with ``statuses``, only the jobs still in one of them. Returns how
    many ``jobs``, ``events`` and ``tokens`` went. ``notify``: send a ``deleted``
    notification per job with the commit (bulk delete does; retention pruning does not,
    as a delete of millions of old jobs is no news to anyone waiting)."""
    deleted: Counter[str] = Counter()
    doomed = [job_id for job_id in ids if job_id not in kept]
    notify = notify and bool(doomed) and get_driver().supports_job_notifications
    if doomed and (statuses is not None or notify):
        # Read again: on SQLite a claim may have committed since the caller chose them.
        still = Job.objects.filter(id__in=doomed)
        if statuses is not None:
            still = still.filter(status__in=statuses)
        queues = dict(still.values_list("id", "queue"))
        doomed = list(queues)
        if notify:
            notifications.notify((i, queues[i], "deleted", "deleted") for i in doomed)
    if not doomed:
        return deleted
    # One DELETE each, no rows loaded: nothing points at these tables.
    deleted["events"], _ = JobEvent.objects.filter(job_id__in=doomed).delete()
    deleted["tokens"], _ = WaitToken.objects.filter(job_id__in=doomed).delete()
    # The jobs through the ORM (ids only), so other tables' on_delete rules (a cron
    # schedule's last_job) apply; its cascade finds no events left.
    _, by_model = Job.objects.filter(id__in=doomed).only("id").delete()
    deleted["jobs"] = by_model.get(Job._meta.label, 0)
    return deleted
