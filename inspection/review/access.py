"""Who may see and do what, for every page of the web UI. Users see only their facilities
(through FacilityMembership; superusers, the operators, see and act on every facility);
every object the review UI loads goes through one of the `*_for` helpers here, which answer 404
for anything outside those facilities, so a foreign id looks exactly like a missing one."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as SignedIn
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from inspection.models import ExportJob, Facility, FacilityMembership, Image, ReviewTask

# What request.user is; SignedIn is the user once known to be signed in.
User = SignedIn | AnonymousUser
Role = FacilityMembership.Role
# Viewers may look at the queue, tasks and stats; only these roles claim, decide and export.
DECIDING_ROLES = (Role.REVIEWER, Role.ADMIN)


def facilities_of(user: User, roles: tuple[str, ...] = tuple(Role)) -> QuerySet[Facility]:
    """The user's facilities (with one of `roles`), as a lazy queryset usable as a subquery."""
    if not user.is_authenticated:
        return Facility.objects.none()
    if user.is_superuser:
        return Facility.objects.all()
    memberships = FacilityMembership.objects.filter(user=user, role__in=roles)
    return Facility.objects.filter(pk__in=memberships.values("facility_id"))


def deciding_facilities(user: User) -> QuerySet[Facility]:
    return facilities_of(user, DECIDING_ROLES)


def can_decide(user: User, facility_id: int) -> bool:
    return deciding_facilities(user).filter(pk=facility_id).exists()


def require_decide(user: User, facility_id: int) -> SignedIn:
    """The user, who may decide at the facility (so is signed in), or PermissionDenied."""
    if not user.is_authenticated or not can_decide(user, facility_id):
        raise PermissionDenied("Your role at this facility cannot review.")
    return user


def task_for(user: User, task_id: object) -> ReviewTask:
    """The access helper for tasks: the user's task with its image, or 404."""
    tasks = ReviewTask.objects.select_related("image__model_version", "facility", "claimed_by")
    return get_object_or_404(tasks, pk=_int(task_id), facility__in=facilities_of(user))


def image_for(user: User, image_id: object) -> Image:
    return get_object_or_404(Image, pk=_uuid(image_id), facility__in=facilities_of(user))


def export_for(user: User, export_id: object) -> ExportJob:
    jobs = ExportJob.objects.select_related("facility")
    return get_object_or_404(jobs, pk=_uuid(export_id), facility__in=facilities_of(user))


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise Http404("Not found.") from None


def _uuid(value: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404("Not found.") from None
