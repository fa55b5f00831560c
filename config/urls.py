"""Top-level URLs: the REST API under /api/v1/ and the admin."""

from django.contrib import admin
from django.urls import include, path

from inspection import views

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("inspection.api.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("review/", include("inspection.ui.urls")),
    path("analytics/", include("inspection.analytics.urls")),
    path("", include("inspection.observability.urls")),
]
