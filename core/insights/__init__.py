"""The read side shared by the dashboard, the JSON API and Prometheus: counts exact
or estimated (``counts``), throughput and run times (``metrics``), why a job is not
running (``explain``), the job search form (``filters``) and numbers, durations and
times for people (``humanize``).

Reads only: may import ``scheduling``, ``jobs``, ``durable``, the drivers, the
models and ``conf``; never the web layers (api, dashboard, admin).
"""
