"""URL routes: the dashboard at the root, the JSON API at /api/, the Django admin at /admin/,
and the demo's example pages at /examples/."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("examples/", include("core.demo.urls")),
    path("", include("core.urls")),
]
