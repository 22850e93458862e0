"""``runworker``, ``queue_maintenance``, ``stream``, ``queuebench``, ``streambench`` and
``dashboardbench``."""
