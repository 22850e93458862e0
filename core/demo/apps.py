"""The demo app's configuration."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """queueadmin's demo: handlers, workload, seed data and example pages."""

    name = "core.demo"
    label = "queueadmin_demo"
    verbose_name = "queueadmin demo"
