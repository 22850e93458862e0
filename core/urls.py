"""The app's URLs in one include: the dashboard at its root and the JSON API under api/.

    path("queue/", include("core.urls"))   # dashboard at /queue/, API at /queue/api/

The namespaces are ``queueadmin`` (dashboard) and ``queueadmin_api`` (API).
"""

from django.urls import include, path

urlpatterns = [
    path("api/", include("core.api.urls")),
    path("", include("core.dashboard.urls")),
]
