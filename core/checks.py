"""System checks (``manage.py check``): what a project must set for queueadmin to work.

Registered by the app's ``ready()``. Each message names the setting and says, in its
hint, what to write instead.
"""

import difflib
from typing import Any

from django.conf import settings
from django.core import checks

from core import conf
from core.durations import duration_problem

#: The backend's import paths a TASKS entry may name.
BACKENDS = ("core.backend.QueueBackend", "core.jobs.tasks.QueueBackend")
#: Keys a TASKS entry of queueadmin's backend takes (it has no OPTIONS of its own).
TASKS_KEYS = ("BACKEND", "QUEUES")
HTMX_APP = "django_htmx"
HTMX_MIDDLEWARE = "django_htmx.middleware.HtmxMiddleware"


@checks.register(checks.Tags.compatibility)
def check_htmx(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The dashboard needs django-htmx: its app (htmx's script) and its middleware."""
    errors = []
    if HTMX_APP not in settings.INSTALLED_APPS:
        errors.append(
            checks.Error(
                "queueadmin's dashboard needs django-htmx, which is not in INSTALLED_APPS.",
                hint=f'Add "{HTMX_APP}" to INSTALLED_APPS (it serves htmx\'s script).',
                id="queueadmin.E001",
            )
        )
    if HTMX_MIDDLEWARE not in settings.MIDDLEWARE:
        errors.append(
            checks.Error(
                "queueadmin's dashboard needs django-htmx's middleware, which is not in "
                "MIDDLEWARE: every job page would fail.",
                hint=f'Add "{HTMX_MIDDLEWARE}" to MIDDLEWARE.',
                id="queueadmin.E002",
            )
        )
    return errors


@checks.register(checks.Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``settings.QUEUEADMIN`` is a dict of known keys."""
    value = getattr(settings, "QUEUEADMIN", {})
    if not isinstance(value, dict):
        return [
            checks.Error(
                f"The QUEUEADMIN setting must be a dict, not {type(value).__name__}.",
                hint='For example QUEUEADMIN = {"LEASE_SECONDS": 60}.',
                id="queueadmin.E003",
            )
        ]
    errors = []
    for key in sorted(set(value) - set(conf.DEFAULTS), key=str):
        close = difflib.get_close_matches(str(key), conf.DEFAULTS, n=1)
        hint = (
            f"Did you mean {close[0]!r}?"
            if close
            else f"The keys are: {', '.join(sorted(conf.DEFAULTS))}."
        )
        errors.append(
            checks.Error(
                f"QUEUEADMIN has an unknown key {key!r}; queueadmin ignores it.",
                hint=hint,
                id="queueadmin.E004",
            )
        )
    return errors


@checks.register(checks.Tags.compatibility)
def check_tasks(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """TASKS entries of queueadmin's backend take only BACKEND and QUEUES; without any,
    ``@task`` functions do not run on queueadmin."""
    entries = getattr(settings, "TASKS", {})
    ours = {
        alias: entry
        for alias, entry in entries.items()
        if isinstance(entry, dict) and entry.get("BACKEND") in BACKENDS
    }
    messages = []
    for alias, entry in sorted(ours.items()):
        for key in sorted(set(entry) - set(TASKS_KEYS), key=str):
            if key == "OPTIONS" and not entry[key]:
                continue
            messages.append(
                checks.Error(
                    f"TASKS[{alias!r}] gives queueadmin's backend {key!r}, which it does not take.",
                    hint=(
                        "It takes BACKEND and QUEUES only; set a task's queueadmin options "
                        "(max_attempts, retry_delay, timeout, tags…) on @task(...) or "
                        "task.using(...)."
                    ),
                    id="queueadmin.E005",
                )
            )
    if not ours:
        messages.append(
            checks.Info(
                "No TASKS backend is queueadmin's, so django.tasks @task functions do not "
                "run on it (Django's default backend runs them at once, in the caller).",
                hint='TASKS = {"default": {"BACKEND": "core.backend.QueueBackend"}}',
                id="queueadmin.I001",
            )
        )
    return messages


def redact_problem(value: Any) -> str | None:
    """Why ``value`` cannot be the REDACT setting (a list of key names), or None."""
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        return (
            f'QUEUEADMIN["REDACT"] must be a list of payload key names, '
            f"not {type(value).__name__}: {value!r}"
        )
    bad = [item for item in value if not isinstance(item, str) or not item.strip()]
    if bad:
        return f'QUEUEADMIN["REDACT"] must hold non-empty strings (key names), got {bad[0]!r}'
    return None


@checks.register(checks.Tags.compatibility)
def check_redact(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``QUEUEADMIN["REDACT"]`` is a list of key names."""
    value = getattr(settings, "QUEUEADMIN", {})
    problem = redact_problem(value.get("REDACT", [])) if isinstance(value, dict) else None
    if problem is None:
        return []
    return [
        checks.Error(
            problem + ".",
            hint='For example QUEUEADMIN = {"REDACT": ["password", "token", "email"]}.',
            id="queueadmin.E006",
        )
    ]


@checks.register(checks.Tags.compatibility)
def check_event_retention(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``QUEUEADMIN["EVENT_RETENTION"]`` is None or a positive duration."""
    value = getattr(settings, "QUEUEADMIN", {})
    value = value.get("EVENT_RETENTION") if isinstance(value, dict) else None
    if value is None:
        return []
    seconds, problem = duration_problem(value)
    if problem is None and seconds > 0:
        return []
    return [
        checks.Error(
            f'QUEUEADMIN["EVENT_RETENTION"] must be None or a positive duration, got {value!r}'
            + (f": {problem}." if problem else "."),
            hint='For example QUEUEADMIN = {"EVENT_RETENTION": "30d"}.',
            id="queueadmin.E007",
        )
    ]
