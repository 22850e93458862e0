"""The worker runtime (``manage.py runworker``): ``runner`` claims jobs and runs them on
threads, ``heartbeat`` renews leases, reports health (``pings``: idle and stuck
threads; ``liveness``: the probe file) and takes operators' orders (given by
``orders``), ``executor`` runs one attempt, ``completer`` writes outcomes in batches,
``retry`` the backoff, ``isolated``/``child`` force-killable attempts, ``supervisor``
restarts worker processes and records their deaths (``deaths``).

May import ``maintenance``, ``streams`` (the pusher), ``jobs``, ``durable``, the
drivers, the models and below.
"""
