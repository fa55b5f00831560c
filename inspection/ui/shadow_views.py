"""The shadow page (facility admins), next to the thresholds page: per facility, its shadow model
against its active model class by class (inspection.learning.shadow), the buttons to promote
the shadow or roll the last promotion back (inspection.services.shadow), and the facility's
model changes. Admins of a facility see and change only theirs."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from inspection.learning.shadow import Comparison, changes, comparison, last_promotion
from inspection.models import Facility, ModelChange
from inspection.services import shadow
from inspection.ui.precision_views import admin_facilities


@dataclass(frozen=True)
class FacilityShadow:
    facility: Facility
    comparison: Comparison | None
    can_roll_back: bool
    changes: list[ModelChange]


@login_required
@require_GET
def shadow_page(request: HttpRequest) -> HttpResponse:
    facilities = admin_facilities(request).select_related("active_model", "shadow_model")
    rows = [_row(facility) for facility in facilities.order_by("slug")]
    return render(request, "review/shadow.html", {"rows": rows})


def _row(facility: Facility) -> FacilityShadow:
    return FacilityShadow(
        facility, comparison(facility), last_promotion(facility) is not None, changes(facility)
    )


@login_required
@require_POST
def promote(request: HttpRequest) -> HttpResponse:
    facility = _facility(request)
    try:
        change = shadow.promote(facility, by=f"shadow page {request.user.get_username()}")
    except shadow.ShadowRefused as exc:
        messages.error(request, exc.detail)
    else:
        version = change.policy.version if change.policy else "?"
        messages.success(
            request, f"{facility.slug}: {change.model_version} promoted (policy v{version})."
        )
    return redirect("review:shadow")


@login_required
@require_POST
def roll_back(request: HttpRequest) -> HttpResponse:
    facility = _facility(request)
    try:
        change = shadow.roll_back(facility, by=f"shadow page {request.user.get_username()}")
    except shadow.ShadowRefused as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"{facility.slug}: back to {change.model_version}.")
    return redirect("review:shadow")


def _facility(request: HttpRequest) -> Facility:
    return get_object_or_404(admin_facilities(request), slug=request.POST.get("facility", ""))
