"""The thresholds page (facility admins): per facility, model and class, the threshold now, the
promised and measured precision with its bound and sample, the recommendation and the review
share it would cause; "apply" writes the recommendation as a new policy version
(inspection.learning.apply). Admins of a facility see and apply only theirs."""

from __future__ import annotations

from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from inspection.learning.apply import apply_recommendation
from inspection.learning.report import ClassReport, precision_report
from inspection.models import Facility, ModelVersion
from inspection.review import access
from inspection.services.policies import InvalidThresholds


def admin_facilities(request: HttpRequest) -> QuerySet[Facility]:
    return access.facilities_of(request.user, (access.Role.ADMIN,))


@login_required
@require_GET
def precision_page(request: HttpRequest) -> HttpResponse:
    rows = precision_report(admin_facilities(request))
    groups = [list(group) for _, group in groupby(rows, key=_group_key)]
    return render(request, "review/precision.html", {"groups": groups})


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
