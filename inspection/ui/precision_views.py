"""The thresholds page (facility admins): per facility, model and class, the threshold now, the
promised and measured precision with its bound and sample, the recommendation and the review
share it would cause; "apply" writes the recommendation as a new policy version
(inspection.learning.apply). Its Drift section lists the open drift and precision alerts
(inspection.learning.drift_alerts) with a button to acknowledge each. Admins of a facility see,
apply and acknowledge only theirs."""

from __future__ import annotations

from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from inspection.learning.apply import apply_recommendation
from inspection.learning.drift_alerts import (
    AlertAlreadyAcknowledged,
    acknowledge,
    alerts_for,
    open_alerts,
)
from inspection.learning.report import ClassReport, precision_report
from inspection.models import Facility, ModelVersion
from inspection.review import access
from inspection.services.policies import InvalidThresholds


def admin_facilities(request: HttpRequest) -> QuerySet[Facility]:
    return access.facilities_of(request.user, (access.Role.ADMIN,))


@login_required
@require_GET
def precision_page(request: HttpRequest) -> HttpResponse:
    facilities = admin_facilities(request)
    rows = precision_report(facilities)
    groups = [list(group) for _, group in groupby(rows, key=_group_key)]
    alerts = open_alerts(facilities)
    return render(request, "review/precision.html", {"groups": groups, "alerts": alerts})


def _group_key(row: ClassReport) -> tuple[int, int | None]:
    return row.facility_id, row.model_version_id


@login_required
@require_POST
def apply(request: HttpRequest) -> HttpResponse:
    facilities = admin_facilities(request)
    facility = get_object_or_404(facilities, slug=request.POST.get("facility", ""))
    model = get_object_or_404(ModelVersion, pk=_int(request.POST.get("model", "")))
    author = f"thresholds page {request.user.get_username()}"
    try:
        policy = apply_recommendation(facilities, facility, model, author)
    except InvalidThresholds as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{facility.slug}: policy version {policy.version} applied.")
    return redirect("review:precision")


def _int(value: str) -> int:
    return int(value) if value.isdigit() else 0


@login_required
@require_POST
def acknowledge_alert(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(alerts_for(admin_facilities(request)), pk=alert_id)
    try:
        acknowledge(alert, f"thresholds page {request.user.get_username()}")
    except AlertAlreadyAcknowledged as exc:
        messages.error(request, str(exc))
    else:
        done = f"{alert.facility.slug}: the alert on {alert.class_name} is acknowledged."
        messages.success(request, done)
    return redirect("review:precision")
