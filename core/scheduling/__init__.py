"""Scheduling: cron schedules (``cron``: fire times, DST rules, exactly one job per
fire time) and queue and channel policies (``policies``: pause, concurrency, rate
limits, release intervals, and their live usage). The claim in ``core.drivers``
enforces the policies.

May import ``jobs`` (a schedule enqueues through it), the drivers, the models,
``validation``, ``conf`` and ``exceptions``.
"""
