"""App configuration."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The queueadmin app."""

    name = "core"
    verbose_name = "Job queue"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Lets workers resolve ``task:<path>`` jobs enqueued through django.tasks.
        from core import backend  # noqa: F401
