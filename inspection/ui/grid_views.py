"""Grid mode pages: the grid of low-confidence-only tasks, accepting the selected ones, and the
grid's heartbeat and leaving beacon (its leases behave like a task page's)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from inspection.review import access, leases
from inspection.review import grid as grid_service
from inspection.ui import recent, skips
from inspection.ui.auth import review_login_required
from inspection.ui.grid_data import grid_data, task_ids
from inspection.ui.task_views import render_uncached, session_filters


@login_required
@require_GET
def grid(request: HttpRequest) -> HttpResponse:
    if not access.deciding_facilities(request.user).exists():
        messages.error(request, "Your role can view tasks but not decide them.")
        return redirect("review:queue")
    tasks = grid_service.grid_tasks(
        request.user, session_filters(request), skips.skipped(request.session)
    )
    page = {
        "renew_url": reverse("review:grid-renew"),
        "leave_url": reverse("review:grid-leave"),
        "task_ids": [task.pk for task in tasks],
        "heartbeat_seconds": leases.HEARTBEAT_SECONDS,
    }
    context = {
        "tiles": grid_data(tasks),
        "data": page,
        "grid_size": grid_service.GRID_SIZE,
        "undo": recent.undo_offer(request.session, request.user),
    }
    return render_uncached(request, "review/grid.html", context)


@review_login_required
@require_POST
def accept(request: HttpRequest) -> HttpResponse:
    result = grid_service.accept_selected(request.user, task_ids(request.POST))
    if result.accepted:
        recent.remember(request.session, result.accepted)
        messages.success(request, f"Accepted {len(result.accepted)} image(s).")
    for problem in result.refused:
        messages.error(request, problem)
    if not result.accepted and not result.refused:
        messages.info(request, "Select the images to accept first (click, or Space).")
    return redirect("review:grid")


@review_login_required
@require_POST
def renew(request: HttpRequest) -> JsonResponse:
    """Renew every grid task the user still holds; name the ones that are gone."""
    ids = task_ids(request.POST)
    held = leases.held_tasks(request.user).filter(pk__in=ids)
    kept = [task.pk for task in held if leases.renew(task, request.user)]
    lost = sorted(set(ids) - set(kept))
    return JsonResponse({"lost": lost, "user": request.user.get_username()})


@review_login_required
@require_POST
def leave(request: HttpRequest) -> HttpResponse:
    grid_service.leave_grid(request.user, task_ids(request.POST))
    return HttpResponse(status=204)
