"""The worker runtime (``manage.py runworker``): ``runner`` claims jobs and heartbeats,
``executor`` runs one attempt, ``completer`` writes outcomes in batches, ``retry`` the
backoff, ``isolated``/``child`` force-killable attempts, ``supervisor`` restarts
worker processes.

May import ``maintenance``, ``streams`` (the pusher), ``jobs``, ``durable``, the
drivers, the models and below.
"""
