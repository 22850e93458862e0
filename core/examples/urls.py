"""The example pages, mounted at /examples/."""

from django.urls import path

from core.examples import views

app_name = "examples"

urlpatterns = [
    path("progress/", views.progress, name="progress"),
    path("progress/start/", views.progress_start, name="progress-start"),
]
