"""REST API v1 routes, plus its OpenAPI schema and Swagger UI (public, served from vendored
assets)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from inspection.api import (
    analytics,
    dead_letters,
    drift,
    facilities,
    precision,
    schema,  # noqa: F401  (registers the API-key security scheme)
    shadow,
    views,
)

app_name = "api"

# The schema and docs take no key, and ignore a bad one rather than answer 401.
PUBLIC = {"authentication_classes": [], "permission_classes": [AllowAny]}

urlpatterns = [
    path("batches/", views.BatchListCreateView.as_view(), name="batch-list"),
    path("batches/<str:batch_id>/", views.BatchDetailView.as_view(), name="batch-detail"),
    path("batches/<str:batch_id>/images/", views.BatchImagesView.as_view(), name="batch-images"),
    path(
        "batches/<str:batch_id>/results.json",
        views.BatchResultsJsonView.as_view(),
        name="batch-results-json",
    ),
    path(
        "batches/<str:batch_id>/results.csv",
        views.BatchResultsCsvView.as_view(),
        name="batch-results-csv",
    ),
    path("failed-images/", dead_letters.FailedImageListView.as_view(), name="failed-image-list"),
    path(
        "failed-images/reasons/",
        dead_letters.FailedReasonsView.as_view(),
        name="failed-image-reasons",
    ),
    path("failed-images/replay/", dead_letters.ReplayView.as_view(), name="failed-image-replay"),
    path("facilities/", facilities.FacilityListView.as_view(), name="facility-list"),
    path(
        "facilities/<str:slug>/thresholds/",
        facilities.ThresholdsView.as_view(),
        name="facility-thresholds",
    ),
    path(
        "facilities/<str:slug>/precision/",
        precision.PrecisionView.as_view(),
        name="facility-precision",
    ),
    path("facilities/<str:slug>/shadow/", shadow.ShadowView.as_view(), name="facility-shadow"),
    path(
        "facilities/<str:slug>/drift-alerts/",
        drift.DriftAlertListView.as_view(),
        name="facility-drift-alerts",
    ),
    path(
        "facilities/<str:slug>/drift-alerts/<str:alert_id>/acknowledge/",
        drift.AcknowledgeView.as_view(),
        name="facility-drift-alert-acknowledge",
    ),
    path(
        "facilities/<str:slug>/thresholds/versions/",
        facilities.PolicyVersionsView.as_view(),
        name="facility-threshold-versions",
    ),
    *(
        path(f"analytics/{name}/", view.as_view(), name=f"analytics-{name}")
        for name, view in analytics.VIEWS.items()
    ),
    path("schema/", SpectacularAPIView.as_view(**PUBLIC), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script for the
    # Content-Security-Policy to allow.
    path(
        "docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema", **PUBLIC), name="docs"
    ),
]
