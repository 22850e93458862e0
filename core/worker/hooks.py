"""Worker hooks: a per-thread setup whose value handlers get as ``ctx.resources``, and
a describer that names a job in the worker's log lines.

Both come from a setting (``WORKER_SETUP``, ``JOB_DESCRIBER``: dotted paths) or a
decorator (``@core.handlers.worker_setup``, ``@core.handlers.job_describer``); the
setting wins. A setup is a generator function, like ``contextlib.contextmanager``:
the code before its ``yield`` runs once in each handler thread when the thread
starts, the yielded value is that thread's resources, the code after it runs when
the thread ends (at shutdown, also after SIGTERM). A plain function may be given
too: its return value is the resources and there is no teardown.
"""

import logging
import threading
from collections.abc import Callable, Generator
from typing import Any

from django.utils.module_loading import import_string

from core import conf

logger = logging.getLogger("queueadmin.worker")

Setup = Callable[[], Any]
Describer = Callable[[Any], Any]

_setups: list[Setup] = []
_describers: dict[str | None, Describer] = {}
_local = threading.local()
_loaded: dict[str, Callable] = {}
#: Longest text a describer adds to a log line.
MAX_DESCRIPTION = 200


class WorkerSetupError(RuntimeError):
    """A worker hook cannot be loaded, or the per-thread setup raised: the worker stops."""


def worker_setup(fn: Setup) -> Setup:
    """Register ``fn`` as the per-thread setup of every worker (one per project)."""
    if not callable(fn):
        raise ValueError(f"worker_setup() needs a function, got {fn!r}")
    known = [(f.__module__, f.__qualname__) for f in _setups]
    if (fn.__module__, fn.__qualname__) in known:
        _setups[known.index((fn.__module__, fn.__qualname__))] = fn  # a re-import
    elif _setups:
        first = _setups[0]
        raise ValueError(
            f"a worker setup is already registered: {first.__module__}.{first.__qualname__}"
        )
    else:
        _setups.append(fn)
    return fn


def job_describer(arg: Describer | str | None = None) -> Any:
    """Register a function ``fn(job) -> str`` that describes jobs in the worker's log
    lines: ``@job_describer`` for every job type, ``@job_describer("type")`` for one
    (it wins over the one for every type)."""
    if callable(arg):
        _describers[None] = arg
        return arg
    if arg is not None and (not isinstance(arg, str) or not arg):
        raise ValueError(f"job_describer() takes a job type name, got {arg!r}")

    def register(fn: Describer) -> Describer:
        _describers[arg] = fn
        return fn

    return register


def _load(name: str) -> Callable | None:
    path = conf.get(name)
    if not path:
        return None
    if not isinstance(path, str):
        raise WorkerSetupError(f"QUEUEADMIN[{name!r}]: must be a dotted path, got {path!r}")
    if path in _loaded:
        return _loaded[path]
    try:
        found = import_string(path)
    except ImportError as exc:
        raise WorkerSetupError(f"QUEUEADMIN[{name!r}]: cannot import {path!r}: {exc}") from exc
    if not callable(found):
        raise WorkerSetupError(f"QUEUEADMIN[{name!r}]: {path!r} is not callable")
    _loaded[path] = found
    return found


def setup_function() -> Setup | None:
    """The per-thread setup (the WORKER_SETUP setting, else the registered one)."""
    return _load("WORKER_SETUP") or (_setups[0] if _setups else None)


def check() -> None:
    """Load the hooks' settings now: a wrong path is a startup error, not a log line
    per job (raises WorkerSetupError)."""
    setup_function()
    describer()


def current_resources() -> Any:
    """What this handler thread's setup yielded (None: no setup)."""
    return getattr(_local, "resources", None)


def _name(fn: Callable) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', fn)}"


class ThreadSetup:
    """One worker's per-thread setup: each handler thread enters it as it starts;
    the runner waits for the first threads, so a setup that raises stops the worker."""

    def __init__(self, fn: Setup) -> None:
        self.fn = fn
        #: The first exception a setup raised (None: none did).
        self.error: BaseException | None = None
        self._done = 0
        self._cond = threading.Condition()

    def enter(self) -> Callable[[], None] | None:
        """In a starting handler thread: run the setup and keep its value for the
        thread's jobs; return the teardown, or None when the setup raised."""
        try:
            result = self.fn()
            if isinstance(result, Generator):
                value = next(result)
            else:
                value, result = result, None
        except BaseException as exc:
            logger.exception("worker setup %s raised", _name(self.fn))
            with self._cond:
                self.error = self.error or exc
                self._done += 1
                self._cond.notify_all()
            return None
        _local.resources = value
        with self._cond:
            self._done += 1
            self._cond.notify_all()
        return lambda: self._teardown(result)

    def _teardown(self, gen: Generator | None) -> None:
        _local.resources = None
        if gen is None:
            return
        try:
            next(gen)
        except StopIteration:
            return
        except Exception:
            logger.exception("worker setup %s raised in its teardown", _name(self.fn))
            return
        logger.error("worker setup %s yielded more than once", _name(self.fn))
        gen.close()

    def wait(self, count: int, stopping: Callable[[], bool]) -> BaseException | None:
        """Wait until ``count`` threads ran the setup (or the worker stops); the first
        exception one of them raised, or None."""
        with self._cond:
            while self._done < count and self.error is None and not stopping():
                self._cond.wait(0.1)
            return self.error


def describer(job_type: str | None = None) -> Describer | None:
    """The describer of ``job_type`` (JOB_DESCRIBER, else the registered ones)."""
    configured = _load("JOB_DESCRIBER")
    if configured is not None:
        return configured
    return _describers.get(job_type) or _describers.get(None)


_failed: set[str] = set()


def describe(job: Any) -> str:
    """The describer's text for a claimed job ("" without one, or when it raised: the
    error is logged once per describer, never raised)."""
    try:
        fn = describer(job.job_type)
    except WorkerSetupError:
        return ""
    if fn is None:
        return ""
    try:
        text = fn(job)
        return "" if text is None else str(text)[:MAX_DESCRIPTION]
    except Exception:
        name = _name(fn)
        if name not in _failed:
            _failed.add(name)
            logger.exception("job describer %s raised (logged once; job lines go without)", name)
        return ""
