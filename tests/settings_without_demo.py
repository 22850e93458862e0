"""The repository's settings without the demo app: a project that installs only queueadmin."""

from queueadmin.settings import *  # noqa: F403
from queueadmin.settings import INSTALLED_APPS

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "core.demo"]
