"""ClaimSizer: claims sized from observed job and claim times."""

from core.worker.sizing import DEFAULT_CAP, MIN_HORIZON, ClaimSizer


def test_nothing_is_buffered_before_a_job_has_finished():
    assert ClaimSizer(concurrency=4).target() == 4


def test_short_jobs_are_claimed_up_to_the_cap():
    sizer = ClaimSizer(concurrency=4)
    sizer.job_done(0.0001)
    assert sizer.buffer() == DEFAULT_CAP


def test_an_explicit_cap_bounds_the_buffer():
    sizer = ClaimSizer(concurrency=4, cap=50)
    sizer.job_done(0.0001)
    assert sizer.buffer() == 50


def test_one_second_jobs_are_claimed_only_for_idle_threads():
    sizer = ClaimSizer(concurrency=4)
    sizer.job_done(1.0)
    assert sizer.buffer() == 0


def test_the_buffer_holds_the_horizon_worth_of_work():
    sizer = ClaimSizer(concurrency=4)
    sizer.job_done(0.01)  # 400 jobs/s
    assert sizer.buffer() == round(400 * MIN_HORIZON)


def test_threads_busy_longer_than_the_average_shrink_the_buffer_at_once():
    sizer = ClaimSizer(concurrency=4)
    sizer.job_done(0.001)
    assert sizer.buffer(busy_for=2.0) == 0


def test_a_slow_claim_round_trip_deepens_the_buffer():
    sizer = ClaimSizer(concurrency=4)
    sizer.job_done(0.01)
    shallow = sizer.buffer()
    for _ in range(50):
        sizer.claimed(0.2)
    assert sizer.buffer() > 4 * shallow


def test_the_average_follows_a_change_of_job_times():
    sizer = ClaimSizer(concurrency=4)
    sizer.job_done(0.0001)
    for _ in range(200):
        sizer.job_done(1.0)
    assert sizer.buffer() == 0
