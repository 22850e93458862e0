"""Concurrent callers on a real database: the idempotency race, with threads."""

import threading

import pytest
from django.db import close_old_connections, connection

from core import queue
from core.models import Job

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def run_together(target, count=THREADS):
    """Start ``count`` threads that call ``target`` at the same moment; return results."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def worker(index):
        try:
            barrier.wait()
            results[index] = target(index)
        except Exception as exc:  # collected and asserted on below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_enqueues_with_one_idempotency_key_create_one_job(round_):
    key = f"race-{round_}"
    results, errors = run_together(lambda i: queue.enqueue("x", {"thread": i}, idempotency_key=key))
    assert errors == []
    assert len({job.pk for job in results}) == 1
    assert sum(not job.deduplicated for job in results) == 1
    assert Job.objects.filter(idempotency_key=key).count() == 1


def test_concurrent_enqueue_many_with_overlapping_keys_create_each_key_once():
    keys = [f"k{i}" for i in range(20)]
    results, errors = run_together(
        lambda i: queue.enqueue_many([{"job_type": "x", "idempotency_key": k} for k in keys])
    )
    assert errors == []
    assert Job.objects.count() == 20
    first = [job.pk for job in results[0]]
    assert all([job.pk for job in jobs] == first for jobs in results)


def test_concurrent_plain_enqueues_all_land():
    results, errors = run_together(lambda i: [queue.enqueue("x", {"n": n}) for n in range(25)])
    assert errors == []
    assert Job.objects.count() == THREADS * 25
    assert len({job.pk for jobs in results for job in jobs}) == THREADS * 25
