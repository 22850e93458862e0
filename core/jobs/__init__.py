"""Jobs: enqueue (``enqueue``), look up (``lookup``), change one (``changes``) or every
job matching a filter (``bulk``), validate (``spec``), filter (``filters``), hold and
release dependents (``dependencies``), and the ``django.tasks`` backend (``tasks``).

``core.queue`` re-exports the public functions. May import ``durable`` (a cancelled
job's tokens time out), the drivers, the models, ``validation``, ``signals``, ``conf`` and
``exceptions``.
"""
