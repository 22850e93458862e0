"""The read side shared by the dashboard, the JSON API and Prometheus: counts exact
or estimated (``counts``), throughput and run times (``metrics``), why a job is not
running (``explain``), the job search form (``filters``) and its search box syntax
(``search``), numbers, durations and
times for people (``humanize``), each queue's next job through the claim indexes
(``heads``) and the health checks (``health``). The per-minute job statistics are
read by ``rollup`` (histograms, quantiles) and drawn by ``charts``.

Reads only: may import ``scheduling``, ``jobs``, ``durable``, the drivers, the
models and ``conf``; never the web layers (api, dashboard, admin).
"""
