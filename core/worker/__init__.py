"""The worker runtime (``manage.py runworker``): ``runner`` claims jobs and runs them on
threads, ``heartbeat`` renews leases, reports health (``pings``: idle and stuck
threads; ``liveness``: the probe file) and takes operators' orders (given by
``orders``), ``executor`` runs one attempt, ``completer`` writes outcomes in batches,
``retry`` the backoff, ``isolated``/``child`` force-killable attempts, ``supervisor``
restarts worker processes and records their deaths (``deaths``, which also sends
``worker_died``); ``threads`` runs the handler threads, ``hooks`` the per-thread
setup and the job describer, ``burst`` decides when ``--burst`` may exit, ``once``
runs one batch (``core.queue.run_once``).

May import ``maintenance``, ``streams`` (the pusher), ``scheduling`` (policy usage),
``jobs``, ``durable``, the drivers, the models and below.
"""
