"""The Charts page: throughput, queue depth and run/wait percentiles per job type over
1 h / 24 h / 7 d, for one queue and/or job type or all, drawn from the per-minute
rollup (never the job table). htmx refreshes get the chart fragment alone."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.dashboard.access import staff_page
from core.insights import charts


@staff_page("queueadmin.view_job")
def charts_page(request: HttpRequest) -> HttpResponse:
    """The charts for ?range=1h|24h|7d&queue=…&job_type=… (all optional)."""
    params = {key: request.GET.get(key, "").strip() for key in ("range", "queue", "job_type")}
    context = {"ranges": list(charts.RANGES.values()), "params": params}
    try:
        chart = charts.chart(params["range"], params["queue"], params["job_type"])
    except charts.ChartError as exc:
        context["error"] = str(exc)
        return render(request, "queueadmin/charts.html", context, status=400)
    context.update(
        chart=chart,
        timings=charts.timing_rows(chart.types),
        queues=sorted(set(charts.recent_queues()) | ({chart.queue} - {None})),
        job_types=sorted({t.job_type for t in chart.types} | ({chart.job_type} - {None})),
    )
    template = "queueadmin/charts.html"
    if request.htmx and request.htmx.target == "chart-panel":
        template += "#chart"
    return render(request, template, context)
