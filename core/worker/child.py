"""Entry point of the child process that runs a force-killable job.

Kept free of module-level Django imports: the "spawn" start method imports
this module in a fresh interpreter before Django is set up.
"""


def child_main(conn, job_fields: dict, worker_id: str, db_name, abort_event) -> None:
    """Set up Django on the parent's database, run the handler, send back the Outcome."""
    import django
    from django.conf import settings

    django.setup()
    settings.DATABASES["default"]["NAME"] = db_name  # the parent's (a test database, say)

    from core.drivers.rows import ClaimedJob
    from core.durable.context import JobContext
    from core.durable.registry import autodiscover
    from core.worker.executor import run_in_thread

    autodiscover()
    job = ClaimedJob(**job_fields)
    conn.send("started")  # the deadline counts from here, not from process start-up
    conn.send(run_in_thread(job, JobContext.for_job(job, worker_id, abort_event)))
    conn.close()
