"""The liveness file a container orchestrator checks: fresh while the worker is well.

A worker touches its file after each heartbeat that reached the database while no
handler thread was stuck (see ``pings``); ``check`` says whether the file is young
enough. ``runworker --processes N`` gives each child ``FILE.<slot>`` and keeps
``FILE`` as old as the oldest of them, so one stuck child fails the probe.
"""

import os
import time
from pathlib import Path


def touch(path: str | os.PathLike) -> None:
    """Set the file's modification time to now, creating it if needed."""
    Path(path).touch()


def slot_path(path: str | os.PathLike, slot: int) -> str:
    """The liveness file of the child process in ``slot`` of a supervisor."""
    return f"{os.fspath(path)}.{slot}"


def age(path: str | os.PathLike, now: float | None = None) -> float | None:
    """Seconds since the file was last touched, or None when it does not exist."""
    try:
        mtime = os.stat(path).st_mtime
    except FileNotFoundError:
        return None
    return max((time.time() if now is None else now) - mtime, 0.0)


def check(path: str | os.PathLike, max_age: float) -> tuple[bool, str]:
    """(ok, message): ok when the file was touched less than ``max_age`` seconds ago."""
    seconds = age(path)
    if seconds is None:
        return False, f"liveness file {os.fspath(path)} does not exist"
    if seconds > max_age:
        return False, (
            f"liveness file {os.fspath(path)} last touched {seconds:.0f}s ago "
            f"(more than {max_age:g}s): a thread is stuck or heartbeats fail"
        )
    return True, f"liveness file {os.fspath(path)} touched {seconds:.0f}s ago"


def follow_oldest(path: str | os.PathLike, sources: list[str]) -> bool:
    """Give ``path`` the modification time of the oldest of ``sources`` (False, and
    ``path`` left alone, while one of them does not exist yet)."""
    mtimes = []
    for source in sources:
        try:
            mtimes.append(os.stat(source).st_mtime)
        except FileNotFoundError:
            return False
    oldest = min(mtimes)
    Path(path).touch()
    os.utime(path, (oldest, oldest))
    return True
