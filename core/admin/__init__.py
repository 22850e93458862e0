"""Django admin registrations, one module per table group (imported to register)."""

from core.admin import cron, jobs, maintenance, tokens, workers

__all__ = ["cron", "jobs", "maintenance", "tokens", "workers"]
