"""Thread pings (core.worker.pings): idle and stuck threads as the heartbeat sees them."""

from core.drivers.rows import ClaimedJob
from core.durable.context import JobContext
from core.worker.pings import ThreadPing, last_report, survey
from core.worker.runs import Run

NOW = 1000.0


def claimed(job_id: int = 7, timeout: float | None = None) -> ClaimedJob:
    return ClaimedJob(
        id=job_id,
        job_type="t",
        queue="default",
        payload={},
        attempts=1,
        max_attempts=3,
        retry_delay=1.0,
        retry_backoff="fixed",
        retry_delay_max=10.0,
        timeout=timeout,
        force_kill_on_timeout=False,
        dead_letter_job_type=None,
    )


def running(started: float, timeout: float | None = None, job_id: int = 7) -> Run:
    run = Run(claimed(job_id, timeout))
    run.started = started
    run.ctx = JobContext.for_job(run.job, "w")
    run.ctx.reported_at = 0.0  # no ctx call yet
    return run


def ping(run: Run | None, name: str = "queueadmin-exec-0") -> ThreadPing:
    thread = ThreadPing(name)
    thread.run = run
    return thread


def test_a_thread_without_a_job_counts_idle():
    result = survey([ping(None), ping(None), ping(running(NOW - 1))], NOW, stuck_after=300)
    assert (result.idle, result.stuck) == (2, [])


def test_a_silent_thread_whose_job_has_no_timeout_is_stuck():
    result = survey([ping(running(NOW - 301, job_id=42))], NOW, stuck_after=300)
    assert result.stuck == [{"thread": "queueadmin-exec-0", "job": 42, "silent_seconds": 301.0}]
    assert result.idle == 0


def test_a_thread_whose_job_has_a_timeout_is_never_stuck():
    result = survey([ping(running(NOW - 5000, timeout=6000))], NOW, stuck_after=300)
    assert result.stuck == []


def test_a_thread_that_took_its_job_recently_is_not_stuck():
    assert survey([ping(running(NOW - 299))], NOW, stuck_after=300).stuck == []


def test_a_call_into_ctx_counts_as_a_report():
    run = running(NOW - 1000)
    run.ctx.heartbeat()
    assert last_report(run) == run.ctx.reported_at > run.started


def test_a_handler_that_reported_recently_is_not_stuck():
    run = running(NOW - 1000)
    run.ctx.reported_at = NOW - 10
    assert survey([ping(run)], NOW, stuck_after=300).stuck == []


def test_progress_output_and_should_abort_each_count_as_a_report():
    run = running(NOW - 1000)
    for call in (lambda: run.ctx.set_output({"a": 1}), run.ctx.should_abort):
        run.ctx.reported_at = 0.0
        call()
        assert run.ctx.reported_at > 0


def test_a_run_not_started_yet_is_neither_idle_nor_stuck():
    run = Run(claimed())
    assert (survey([ping(run)], NOW, 300).idle, survey([ping(run)], NOW, 300).stuck) == (0, [])
