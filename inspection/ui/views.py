"""Review pages: thin. Each loads what it needs through `inspection.review.access` (404 outside
the user's facilities), calls one service or selector, and renders a template."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from inspection.models import ExportJob, Image, ReviewTask
from inspection.preprocessing import ImageRejected
from inspection.review import access, leases
from inspection.review.boxes import InvalidBoxes, class_names_for, parse_boxes
from inspection.review.decisions import REJECT_REASONS, DecisionRefused, DecisionRequest, decide
from inspection.review.display import image_jpeg
from inspection.review.exports import request_export
from inspection.review.selectors import (
    REASON_KINDS,
    QueueFilters,
    decisions_since,
    override_by_class,
    queue_classes,
    queue_page,
    queue_summary,
    reviewer_stats,
)
from inspection.ui.forms import DecisionForm, ExportForm, QueueFilterForm
from inspection.ui.task_data import boxes_field, task_data

SESSION_FILTERS = "review_filters"
STATS_DAYS = (1, 7, 30, 90, 365)


def _queue_url(filters: QueueFilters | None = None) -> str:
    query = urlencode(filters.as_query()) if filters else ""
    return reverse("review:queue") + (f"?{query}" if query else "")


def _task_url(task: ReviewTask) -> HttpResponseRedirect:
    return redirect("review:task", task_id=task.pk)


def _session_filters(request: HttpRequest) -> QueueFilters:
    saved = request.session.get(SESSION_FILTERS, {})
    return QueueFilters(saved.get("facility", ""), saved.get("class", ""), saved.get("reason", ""))


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    filters = QueueFilterForm(request.GET).filters()
    facilities = access.facilities_of(request.user)
    context = {
        "filters": filters,
        "tasks": queue_page(facilities, filters),
        "summary": queue_summary(facilities, filters),
        "facilities": facilities,
        "classes": queue_classes(facilities),
        "reason_kinds": REASON_KINDS,
        "can_claim": access.deciding_facilities(request.user).exists(),
        "held": leases.held_task(request.user),
        "now": timezone.now(),
    }
    return render(request, "review/queue.html", context)


@login_required
@require_POST
def next_task(request: HttpRequest) -> HttpResponse:
    filters = QueueFilterForm(request.POST).filters()
    request.session[SESSION_FILTERS] = filters.as_query()
    task = leases.claim_next(request.user, filters)
    if task is None:
        messages.info(request, "No task is waiting for review.")
        return redirect(_queue_url(filters))
    return _task_url(task)


@login_required
@require_GET
def task_page(request: HttpRequest, task_id: int) -> HttpResponse:
    task = access.task_for(request.user, task_id)
    held = task.held_by(request.user, timezone.now())
    data = task_data(task, held)
    context = {
        "task": task,
        "image": task.image,
        "held": held,
        "can_decide": access.can_decide(request.user, task.facility_id),
        "decision": task.decisions.select_related("decided_by").first(),
        "data": data,
        "boxes_field": boxes_field(data),
        "class_names": class_names_for(task.image),
        "reject_reasons": REJECT_REASONS,
    }
    return render(request, "review/task.html", context)


@login_required
@require_POST
def claim(request: HttpRequest, task_id: int) -> HttpResponse:
    task = access.task_for(request.user, task_id)
    if not leases.claim_task(task, request.user):
        messages.error(request, "Someone else is reviewing this task.")
    return _task_url(task)


@login_required
@require_POST
def decide_task(request: HttpRequest, task_id: int) -> HttpResponse:
    task = access.task_for(request.user, task_id)
    access.require_decide(request.user, task.facility_id)  # who may decide, before what was sent
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The decision was not stored: " + form.problems())
        return _task_url(task)
    try:
        decision = decide(task, request.user, _decision_request(form.cleaned_data, task))
    except (InvalidBoxes, DecisionRefused) as exc:
        messages.error(request, str(exc))
        return _task_url(task)
    messages.success(request, f"{task.image.original_name or 'Image'}: {decision.action}.")
    following = leases.claim_next(request.user, _session_filters(request))
    return _task_url(following) if following else redirect(_queue_url(_session_filters(request)))


def _decision_request(data: dict[str, Any], task: ReviewTask) -> DecisionRequest:
    # An accept always carries the boxes the reviewer saw (the form requires them); a reject
    # stores no boxes, so whatever came with it is ignored.
    accepted = data["verdict"] == Image.Verdict.ACCEPTED
    boxes = parse_boxes(data["boxes"], task.image) if accepted else None
    return DecisionRequest(data["verdict"], boxes, data["reason"], data["comment"])


@login_required
@require_POST
def renew(request: HttpRequest, task_id: int) -> JsonResponse:
    task = access.task_for(request.user, task_id)
    if not leases.renew(task, request.user):
        return JsonResponse({"held": False}, status=409)
    return JsonResponse({"held": True, "expires_at": task.lease_expires_at.isoformat()})


@login_required
@require_POST
def release(request: HttpRequest, task_id: int) -> HttpResponse:
    """Give the task back: the Release button, or a beacon when the page is left."""
    task = access.task_for(request.user, task_id)
    leases.release(task, request.user)
    if request.POST.get("beacon"):
        return HttpResponse(status=204)
    return redirect(_queue_url(_session_filters(request)))


@login_required
@require_GET
def image(request: HttpRequest, image_id: str) -> HttpResponse:
    """The image, oriented like its boxes; only for members of its facility."""
    picture = access.image_for(request.user, image_id)
    if not picture.storage_key:
        raise Http404("No stored file.")
    try:
        data = image_jpeg(picture, settings.REVIEW_DISPLAY_MAX_SIDE)
    except (ImageRejected, OSError):  # failed uploads are stored too; missing files happen
        raise Http404("This image cannot be shown.") from None
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_GET
def stats(request: HttpRequest) -> HttpResponse:
    days = int(request.GET.get("days", "30")) if request.GET.get("days", "").isdigit() else 30
    facilities = access.facilities_of(request.user)
    decisions = decisions_since(facilities, timezone.now() - timedelta(days=days))
    context = {
        "days": days,
        "day_choices": STATS_DAYS,
        "reviewers": reviewer_stats(decisions),
        "classes": override_by_class(decisions),
        "summary": queue_summary(facilities, QueueFilters()),
    }
    return render(request, "review/stats.html", context)


@login_required
def exports(request: HttpRequest) -> HttpResponse:
    facilities = access.deciding_facilities(request.user)
    form = ExportForm(facilities, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        job = request_export(
            request.user, data["facility"], data["format"], data["date_from"], data["date_to"]
        )
        messages.success(request, _export_message(job))
        return redirect("review:exports")
    jobs = ExportJob.objects.filter(facility__in=access.facilities_of(request.user))
    jobs = list(jobs.select_related("facility", "requested_by")[:50])
    context = {
        "form": form,
        "jobs": jobs,
        "building": any(job.status in (job.Status.PENDING, job.Status.RUNNING) for job in jobs),
    }
    return render(request, "review/exports.html", context)


def _export_message(job: ExportJob) -> str:
    if job.status == ExportJob.Status.DONE:
        return f"Export ready: {job.image_count} image(s)."
    return "The export is being built in the background; this page refreshes until it is ready."


@login_required
@require_GET
def download_export(request: HttpRequest, export_id: str) -> FileResponse:
    job = access.export_for(request.user, export_id)
    if job.status != ExportJob.Status.DONE or not job.file_key:
        raise Http404("This export is not ready.")
    handle = default_storage.open(job.file_key, "rb")
    return FileResponse(handle, as_attachment=True, filename=job.file_name)
