"""The fault tests' settings without prepared statements: a prepared statement's text
travels only once, when it is prepared, so a test that loses the reply to one
execution of a statement (found by its text) runs the statements unprepared."""

from tests.settings_faults import *  # noqa: F403
from tests.settings_faults import QUEUEADMIN

QUEUEADMIN = {**QUEUEADMIN, "PREPARED_STATEMENTS": False}
