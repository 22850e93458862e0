"""The demo: a separate Django app (label ``queueadmin_demo``) that this repository's
project installs and a project using queueadmin does not need.

Owns the demo handlers (``demo.*``), the workload of ``make run`` and the settings
that make every dashboard page show something (``workload``: a cron schedule, queue
and channel policies, a topic pushed to the demo's own hook, a read-only API key),
realistic seed data, the pages under /examples/ (the progress example and the push
hook) and the commands ``enqueue_demo``, ``ensure_demo_user`` and ``seed_jobs``. May
import anything of the queue app; nothing in the queue app imports it.
"""
