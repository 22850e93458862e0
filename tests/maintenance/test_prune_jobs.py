"""prune_jobs leaves room for the workers: chunks sized by time, a pause between two."""

import pytest

from core.maintenance import prune_jobs
from core.maintenance.prune_jobs import CHUNK_SECONDS, _next_size
from tests.maintenance.conftest import run_task
from tests.maintenance.test_maintenance import finished

pytestmark = pytest.mark.django_db


def test_a_slow_chunk_halves_the_next_one():
    assert _next_size(1000, CHUNK_SECONDS * 2, 1000) == 500


def test_a_chunk_never_shrinks_below_a_tenth_of_the_bulk_chunk_size():
    assert _next_size(150, CHUNK_SECONDS * 2, 1000) == 100
    assert _next_size(1, CHUNK_SECONDS * 2, 3) == 1


def test_a_quick_chunk_doubles_the_next_one_up_to_the_bulk_chunk_size():
    assert _next_size(250, 0.0, 1000) == 500
    assert _next_size(800, 0.0, 1000) == 1000


def test_pruning_pauses_after_each_full_chunk_so_waiting_writers_get_the_lock(
    chunk_of_3, monkeypatch
):
    pauses = []
    monkeypatch.setattr(prune_jobs.time, "sleep", pauses.append)
    for _ in range(7):
        finished("completed", 8)
    assert run_task("prune_jobs").counts["jobs"] == 7
    # 3 + 3 + 1 (the chunk size stays 3: quick chunks grow no further than it)
    assert len(pauses) == 2
    assert all(0 <= pause <= CHUNK_SECONDS for pause in pauses)
