"""Review pages: thin. Each loads what it needs through `inspection.review.access` (404 outside
the user's facilities), calls one service or selector, and renders a template."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from inspection.models import ExportJob
from inspection.preprocessing import ImageRejected
from inspection.review import access, leases
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
from inspection.ui import recent, skips
from inspection.ui.forms import ExportForm, QueueFilterForm
from inspection.ui.task_views import SESSION_FILTERS, queue_url, task_redirect

STATS_DAYS = (1, 7, 30, 90, 365)
THUMBNAIL_SIDE = 480


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
        "undo": recent.undo_offer(request.session, request.user),
    }
    return render(request, "review/queue.html", context)


@login_required
@require_POST
def next_task(request: HttpRequest) -> HttpResponse:
    filters = QueueFilterForm(request.POST).filters()
    request.session[SESSION_FILTERS] = filters.as_query()
    task = leases.claim_next(request.user, filters, skips.skipped(request.session))
    if task is None and skips.skipped(request.session):
        skips.forget(request.session)  # only skipped tasks are left: they come round again
        task = leases.claim_next(request.user, filters)
    if task is None:
        messages.info(request, "No task is waiting for review.")
        return redirect(queue_url(filters))
    return task_redirect(task)


@login_required
@require_GET
def image(request: HttpRequest, image_id: str) -> HttpResponse:
    """The image, oriented like its boxes; only for members of its facility."""
    return _jpeg(request, image_id, settings.REVIEW_DISPLAY_MAX_SIDE)


@login_required
@require_GET
def thumbnail(request: HttpRequest, image_id: str) -> HttpResponse:
    """A small copy for grid mode (same orientation, so the boxes scale onto it)."""
    return _jpeg(request, image_id, THUMBNAIL_SIDE)


def _jpeg(request: HttpRequest, image_id: str, max_side: int) -> HttpResponse:
    picture = access.image_for(request.user, image_id)
    if not picture.storage_key:
        raise Http404("No stored file.")
    try:
        data = image_jpeg(picture, max_side)
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
            request.user,
            data["facility"],
            data["format"],
            data["date_from"],
            data["date_to"],
            image_base_url=request.build_absolute_uri("/").rstrip("/"),
        )
        messages.success(request, _export_message(job))
        return redirect("review:exports")
    visible = ExportJob.objects.filter(facility__in=access.facilities_of(request.user))
    jobs = list(visible.select_related("facility", "requested_by")[:50])
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
