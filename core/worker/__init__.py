"""The worker runtime: claim jobs, run them on threads, write outcomes in batches."""
