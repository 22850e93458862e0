"""The API's routes, mounted at /api/."""

from django.urls import path, re_path

from core.api.views import health, jobs, meta, status, tokens

app_name = "queueadmin_api"

urlpatterns = [
    path("jobs", jobs.jobs, name="jobs"),
    path("jobs/<int:pk>", jobs.job, name="job"),
    path("jobs/<int:pk>/retry", jobs.retry, name="job-retry"),
    path("jobs/<int:pk>/cancel", jobs.cancel, name="job-cancel"),
    path("tokens/<str:token_id>/complete", tokens.complete, name="token-complete"),
    path("status/<str:ref>", status.status, name="status"),
    path("metrics", meta.metrics, name="metrics"),
    path("health", health.health, name="health"),
    path("openapi.json", meta.openapi_json, name="openapi"),
    re_path(r"^(?P<rest>[\s\S]*)$", meta.not_found),
]
