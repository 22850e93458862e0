"""The dashboard's routes, mounted at the site root."""

from django.urls import path

from core.dashboard.views import (
    apikeys,
    bulk,
    charts,
    cron,
    job,
    job_new,
    jobs,
    overview,
    queues,
    stream_messages,
    stream_offsets,
    streams,
    tokens,
    workers,
)

app_name = "queueadmin"

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("overview/counts/", overview.overview_counts, name="overview-counts"),
    path("overview/metrics/", overview.overview_metrics, name="overview-metrics"),
    path("charts/", charts.charts_page, name="charts"),
    path("jobs/", jobs.job_list, name="jobs"),
    path("jobs/counts/", jobs.job_counts, name="job-counts"),
    path("jobs/bulk/", bulk.bulk_selected, name="bulk-selected"),
    path("jobs/bulk/confirm/", bulk.bulk_confirm, name="bulk-confirm"),
    path("jobs/bulk/run/", bulk.bulk_run, name="bulk-run"),
    path("jobs/new/", job_new.job_new, name="job-new"),
    path("jobs/<int:pk>/", job.job_detail, name="job"),
    path("jobs/<int:pk>/edit/", job.job_edit, name="job-edit"),
    path("jobs/<int:pk>/delete/", job.job_delete, name="job-delete"),
    *(
        path(f"jobs/<int:pk>/{action}/", jobs.job_action, {"action": action}, name=f"job-{action}")
        for action in jobs.ROW_ACTIONS
    ),
    path("queues/", queues.queue_list, name="queues"),
    path("queues/pause/", queues.queue_pause, name="queue-pause"),
    path("queues/resume/", queues.queue_resume, name="queue-resume"),
    path("queues/limits/", queues.queue_limits, name="queue-limits"),
    path("queues/channels/new/", queues.channel_new, name="channel-new"),
    path("queues/channels/edit/", queues.channel_edit, name="channel-edit"),
    path("queues/channels/clear/", queues.channel_clear, name="channel-clear"),
    path("tokens/", tokens.token_list, name="tokens"),
    path("tokens/<str:token_id>/complete/", tokens.token_complete, name="token-complete"),
    path("tokens/<str:token_id>/expire/", tokens.token_expire, name="token-expire"),
    path("cron/", cron.cron_list, name="cron"),
    path("cron/new/", cron.cron_new, name="cron-new"),
    path("cron/preview/", cron.cron_preview, name="cron-preview"),
    path("cron/<int:pk>/edit/", cron.cron_edit, name="cron-edit"),
    path("cron/<int:pk>/pause/", cron.cron_pause, name="cron-pause"),
    path("cron/<int:pk>/resume/", cron.cron_resume, name="cron-resume"),
    path("cron/<int:pk>/run/", cron.cron_run, name="cron-run"),
    path("cron/<int:pk>/remove/", cron.cron_remove, name="cron-remove"),
    path("streams/", streams.stream_list, name="streams"),
    path("streams/offsets/", stream_offsets.stream_offsets, name="stream-offsets"),
    path("streams/reset/", stream_offsets.stream_reset, name="stream-reset"),
    path("streams/messages/", stream_messages.stream_messages, name="stream-messages"),
    path("workers/", workers.workers, name="workers"),
    path("workers/order/", workers.worker_order, name="worker-order"),
    path("api-keys/", apikeys.apikey_list, name="apikeys"),
    path("api-keys/new/", apikeys.apikey_new, name="apikey-new"),
    path("api-keys/<int:pk>/revoke/", apikeys.apikey_revoke, name="apikey-revoke"),
]
