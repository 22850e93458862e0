"""The demo's example pages and its push hook, mounted at /examples/ by this repository's
project."""

from django.urls import path

from core.demo import views

app_name = "queueadmin_demo"

urlpatterns = [
    path("progress/", views.progress, name="progress"),
    path("progress/start/", views.progress_start, name="progress-start"),
    path("hook/", views.hook, name="hook"),
]
