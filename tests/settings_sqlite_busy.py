"""The repository's settings with a 1 s SQLite busy timeout, so a test holding the database's
write lock is an outage for the worker (``database is locked``) instead of a long wait."""

from queueadmin.settings import *  # noqa: F403
from queueadmin.settings import DATABASES

DATABASES["default"]["OPTIONS"]["timeout"] = 1
