"""URL routes: the Django admin now; the dashboard and JSON API join later."""

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    # Until the dashboard lands, the root sends operators to the admin.
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
