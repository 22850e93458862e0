"""queueadmin's Django app: the job queue, its worker and its dashboard."""
