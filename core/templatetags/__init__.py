"""The ``queueadmin`` template tag library (``{% load queueadmin %}``); its filters
live in ``core.insights.humanize``."""
