"""The ``django.tasks`` backend, as settings name it::

    TASKS = {"default": {"BACKEND": "core.backend.QueueBackend"}}

This module only re-exports ``core.jobs.tasks``, where the backend lives.
"""

from core.jobs.tasks import QueueBackend, QueueContext, QueueTask

__all__ = ["QueueBackend", "QueueContext", "QueueTask"]
