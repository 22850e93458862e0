"""Jobs: enqueue (``enqueue``), look up (``lookup``), change one (``changes``) or every
job matching a filter (``bulk``), validate (``spec``), filter (``filters``) and inside
jobs (``contents``), hold and
release dependents (``dependencies``), and the ``django.tasks`` backend (``tasks``);
enqueue by a person with the actor recorded (``manual``), and the REDACT setting's
masking of payload values for display (``redaction``).

``core.queue`` re-exports the public functions. May import ``durable`` (a cancelled
job's tokens time out), the drivers, the models, ``validation``, ``signals``, ``conf`` and
``exceptions``.
"""
