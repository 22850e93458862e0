"""URL routes: the dashboard at the root, the JSON API at /api/, the Django admin at /admin/."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("core.api.urls")),
    path("examples/", include("core.demo.urls")),  # the demo's example pages
    path("", include("core.dashboard.urls")),
]
