"""The task page and what it posts: claim, decide, skip, undo, and the page's background
requests (lease heartbeat, leaving, the upcoming image). Thin: each loads through
`inspection.review.access`, calls one service and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inspection.models import Image, ReviewTask
from inspection.review import access, leases
from inspection.review.boxes import InvalidBoxes, class_names_for, parse_boxes
from inspection.review.decisions import REJECT_REASONS, DecisionRefused, DecisionRequest, decide
from inspection.review.selectors import QueueFilters, task_history
from inspection.review.thresholds import reason_text, routing_policy, source_text
from inspection.review.undo import undo
from inspection.ui import recent, skips
from inspection.ui.auth import review_login_required
from inspection.ui.forms import DecisionForm
from inspection.ui.task_data import boxes_field, task_data

SESSION_FILTERS = "review_filters"


def queue_url(filters: QueueFilters | None = None) -> str:
    query = urlencode(filters.as_query()) if filters else ""
    return reverse("review:queue") + (f"?{query}" if query else "")


def task_redirect(task: ReviewTask) -> HttpResponseRedirect:
    return redirect("review:task", task_id=task.pk)


def session_filters(request: HttpRequest) -> QueueFilters:
    saved = request.session.get(SESSION_FILTERS, {})
    return QueueFilters(saved.get("facility", ""), saved.get("class", ""), saved.get("reason", ""))


def next_or_queue(request: HttpRequest) -> HttpResponseRedirect:
    """The next task for the reviewer (held first, skipped ones passed over), else the queue."""
    filters = session_filters(request)
    following = leases.claim_next(request.user, filters, skips.skipped(request.session))
    return task_redirect(following) if following else redirect(queue_url(filters))


@login_required
@require_GET
def task_page(request: HttpRequest, task_id: int) -> HttpResponse:
    task = access.task_for(request.user, task_id)
    held = task.held_by(request.user, timezone.now())
    data = task_data(task, held, request.user.get_username())
    applied = routing_policy(task.image)
    context = {
        "task": task,
        "image": task.image,
        "held": held,
        "can_decide": access.can_decide(request.user, task.facility_id),
        "decision": task.decisions.exclude(action="undo").select_related("decided_by").first(),
        "history": task_history(task),
        "thresholds": source_text(applied),
        "calibrated": applied.calibrated,
        "reasons": [reason_text(reason, applied) for reason in task.reasons],
        "data": data,
        "boxes_field": boxes_field(data),
        "class_names": class_names_for(task.image),
        "reject_reasons": REJECT_REASONS,
        "undo": recent.undo_offer(request.session, request.user),
    }
    return render_uncached(request, "review/task.html", context)


def render_uncached(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """A page that shows leases: Back and Forward load it again, so it never shows a lease or an
    editable task that is no longer so (a page kept in the back/forward cache would)."""
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    return response


@review_login_required
@require_POST
def claim(request: HttpRequest, task_id: int) -> HttpResponse:
    task = access.task_for(request.user, task_id)
    if leases.claim_task(task, request.user):
        skips.forget(request.session, task.pk)  # opened on purpose: no longer passed over
    else:
        messages.error(request, "Someone else is reviewing this task.")
    return task_redirect(task)


@review_login_required
@require_http_methods(["GET", "POST"])
def decide_task(request: HttpRequest, task_id: int) -> HttpResponse:
    task = access.task_for(request.user, task_id)
    if request.method == "GET":  # a sign-in that came back here: show the task
        return task_redirect(task)
    access.require_decide(request.user, task.facility_id)  # who may decide, before what was sent
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The decision was not stored: " + form.problems())
        return task_redirect(task)
    try:
        decision = decide(task, request.user, _decision_request(form.cleaned_data, task))
    except (InvalidBoxes, DecisionRefused) as exc:
        messages.error(request, str(exc))
        return task_redirect(task)
    recent.remember(request.session, [decision])
    messages.success(request, f"{task.image.original_name or 'Image'}: {decision.action}.")
    return next_or_queue(request)


def _decision_request(data: dict[str, Any], task: ReviewTask) -> DecisionRequest:
    # An accept always carries the boxes the reviewer saw (the form requires them); a reject
    # stores no boxes, so whatever came with it is ignored.
    accepted = data["verdict"] == Image.Verdict.ACCEPTED
    boxes = parse_boxes(data["boxes"], task.image) if accepted else None
    return DecisionRequest(data["verdict"], boxes, data["reason"], data["comment"])


@review_login_required
@require_POST
def skip(request: HttpRequest, task_id: int) -> HttpResponse:
    """Give the task back and take a different one."""
    task = access.task_for(request.user, task_id)
    leases.release(task, request.user)
    skips.add(request.session, task.pk)
    following = leases.claim_next(
        request.user, session_filters(request), skips.skipped(request.session)
    )
    if following is not None:
        return task_redirect(following)
    skips.forget(request.session)
    messages.info(request, "No other task is waiting; the tasks you skipped are back in the queue.")
    return redirect(queue_url(session_filters(request)))


@review_login_required
@require_POST
def undo_last(request: HttpRequest) -> HttpResponse:
    """Undo the reviewer's latest decision(s) (the offer shown after deciding)."""
    decisions = recent.last_decisions(request.session)
    try:
        undo(decisions, request.user)
    except DecisionRefused as exc:
        messages.error(request, str(exc))
        return redirect(request.POST.get("back") or queue_url(session_filters(request)))
    recent.forget(request.session)
    names = ", ".join(d.image.original_name or str(d.image_id) for d in decisions)
    messages.success(request, f"Undone: {names}. Decide again.")
    if len(decisions) > 1:
        return redirect("review:grid")
    return task_redirect(decisions[0].task)


@review_login_required
@require_POST
def renew(request: HttpRequest, task_id: int) -> JsonResponse:
    """The page's heartbeat: renews the lease, or says plainly why the task is not yours."""
    task = access.task_for(request.user, task_id)
    user = request.user.get_username()
    if leases.renew(task, request.user):
        # The renewal set the new expiry on the instance.
        expires_at = cast(datetime, task.lease_expires_at)
        return JsonResponse({"held": True, "expires_at": expires_at.isoformat(), "user": user})
    message = leases.lost_lease_message(task, request.user)
    decided = task.status == ReviewTask.Status.DONE
    return JsonResponse(
        {"held": False, "decided": decided, "message": message, "user": user}, status=409
    )


@review_login_required
@require_POST
def leave(request: HttpRequest, task_id: int) -> HttpResponse:
    """A beacon from a page being left: the task stays reserved a few seconds only."""
    task = access.task_for(request.user, task_id)
    leases.leave(task, request.user)
    return HttpResponse(status=204)


@review_login_required
@require_POST
def release(request: HttpRequest, task_id: int) -> HttpResponse:
    """The Release button: give the task back now."""
    task = access.task_for(request.user, task_id)
    leases.release(task, request.user)
    return redirect(queue_url(session_filters(request)))


@review_login_required
@require_GET
def upcoming(request: HttpRequest, task_id: int) -> JsonResponse:
    """The image of the task likely to come next, for the page to fetch ahead."""
    exclude = [*skips.skipped(request.session), int(task_id)]
    task = leases.upcoming(request.user, session_filters(request), exclude)
    url = reverse("review:image", kwargs={"image_id": task.image_id}) if task else None
    return JsonResponse({"image_url": url})
