"""``enqueue_demo``, ``ensure_demo_user`` and ``seed_jobs``."""
