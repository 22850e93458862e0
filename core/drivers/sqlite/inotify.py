"""Linux's inotify through ctypes: a file descriptor that becomes readable when a file
in a directory is written, created or moved in, so the SQLite listener wakes at a
commit instead of looking at the files every few milliseconds. ``DirectoryWatch.open``
returns None where inotify is not there (other systems, no free watches)."""

import ctypes
import ctypes.util
import os
import select
import sys

_IN_MODIFY = 0x002
_IN_MOVED_TO = 0x080
_IN_CREATE = 0x100


class DirectoryWatch:
    """Writes to the files of one directory, as a readable file descriptor."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def open(cls, directory: str) -> "DirectoryWatch | None":
        if not sys.platform.startswith("linux"):
            return None
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):
            return None
        if fd < 0:
            return None
        mask = _IN_MODIFY | _IN_CREATE | _IN_MOVED_TO
        if libc.inotify_add_watch(fd, os.fsencode(directory), mask) < 0:
            os.close(fd)
            return None
        return cls(fd)

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for a write; True if there was one (the
        events are read and dropped: the caller looks at the files itself)."""
        readable, _, _ = select.select([self._fd], [], [], max(timeout, 0.0))
        if not readable:
            return False
        while True:
            try:
                if not os.read(self._fd, 65536):
                    return True
            except BlockingIOError:
                return True

    def close(self) -> None:
        os.close(self._fd)
