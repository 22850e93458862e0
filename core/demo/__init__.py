"""The demo: a separate Django app (label ``queueadmin_demo``) that this repository's
project installs and a project using queueadmin does not need.

Owns the demo handlers (``demo.*``), the workload of ``make run``, realistic seed
data, the progress example page under /examples/ and the commands
``enqueue_demo``, ``ensure_demo_user`` and ``seed_jobs``. May import anything of
the queue app; nothing in the queue app imports it.
"""
