"""The liveness file (core.worker.liveness): touched, checked, followed by a supervisor."""

import os
import time

from core.worker import liveness


def test_check_passes_for_a_file_touched_recently(tmp_path):
    path = tmp_path / "alive"
    liveness.touch(path)
    ok, message = liveness.check(path, max_age=60)
    assert ok
    assert "touched 0s ago" in message


def test_check_fails_for_a_missing_file(tmp_path):
    ok, message = liveness.check(tmp_path / "alive", max_age=60)
    assert not ok
    assert "does not exist" in message


def test_check_fails_for_a_file_older_than_the_max_age(tmp_path):
    path = tmp_path / "alive"
    liveness.touch(path)
    old = time.time() - 120
    os.utime(path, (old, old))
    ok, message = liveness.check(path, max_age=90)
    assert not ok
    assert "last touched 120s ago (more than 90s)" in message


def test_each_supervised_child_gets_its_own_file():
    assert liveness.slot_path("/tmp/alive", 2) == "/tmp/alive.2"


def test_the_supervisor_file_takes_the_age_of_the_oldest_child_file(tmp_path):
    main = tmp_path / "alive"
    children = [liveness.slot_path(main, slot) for slot in range(2)]
    for child in children:
        liveness.touch(child)
    old = time.time() - 500
    os.utime(children[1], (old, old))
    assert liveness.follow_oldest(main, children)
    assert abs(os.stat(main).st_mtime - old) < 1
    assert not liveness.check(main, max_age=90)[0]


def test_the_supervisor_file_is_left_alone_while_a_child_has_no_file_yet(tmp_path):
    main = tmp_path / "alive"
    liveness.touch(liveness.slot_path(main, 0))
    assert not liveness.follow_oldest(main, [liveness.slot_path(main, s) for s in range(2)])
    assert not main.exists()
