"""Benchmarks: ``queuebench`` (enqueue, processing, latency), ``streambench`` (publish,
fetch + commit) and ``dashboardbench`` (page times), with the options and the result
table they share. Each returns numbers; the management commands print them. May
import anything of the queue app (the facade first); nothing imports it.
"""
