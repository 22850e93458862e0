"""The repository's settings with no LOGGING of its own: Django's defaults only."""

from queueadmin.settings import *  # noqa: F403

LOGGING = {"version": 1, "disable_existing_loggers": False}
