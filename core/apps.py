"""App configuration."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The queueadmin app."""

    name = "core"
    verbose_name = "Job queue"
    default_auto_field = "django.db.models.BigAutoField"
