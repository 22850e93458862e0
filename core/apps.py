"""App configuration: the app's label is ``queueadmin`` (tables ``queueadmin_*``,
permissions ``queueadmin.*``), whatever the package is called."""

from django.apps import AppConfig
from django.db.models.signals import pre_migrate


class QueueAdminConfig(AppConfig):
    """The queueadmin app: the job queue, its worker, its dashboard and its API."""

    name = "core"
    label = "queueadmin"
    verbose_name = "Job queue"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # backend resolves ``task:<path>`` jobs; checks registers the system checks.
        from core import backend, checks, legacy  # noqa: F401

        pre_migrate.connect(legacy.refuse_legacy_tables, sender=self, dispatch_uid="queueadmin")
