"""queueadmin's Django app (label ``queueadmin``): the job queue, its worker, its
dashboard and its JSON API.

The public import paths are ``core.queue`` (the queue API), ``core.handlers``
(``@handler``), ``core.backend`` (the ``django.tasks`` backend) and ``core.streams``.
The packages, from the bottom up (each imports only its own layer and those below;
``tests/test_layers.py`` keeps it so): ``exceptions``/``conf``/``validation``/
``signals``/``checks`` → ``models`` → ``drivers`` → ``durable`` → ``jobs`` →
``scheduling``/``streams`` → ``insights`` → ``maintenance`` → ``worker`` → the
facades → ``api``/``admin``/``templatetags`` → ``dashboard`` → ``management``/
``bench``; ``demo`` is an app of its own.
"""

__version__ = "0.1.0"
