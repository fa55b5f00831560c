"""The failed images page (facility admins; superusers, the operators, see every facility):
failed images with their reasons, counts per reason, filters, and replay buttons for one image,
its batch, or every failed image of a reason, optionally against another model version. The
replay goes through inspection.dead_letters.replays (scoped, idempotent, audited)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from inspection.dead_letters.replays import Caller, ReplayKeyReused, ReplayOutcome, request_replay
from inspection.dead_letters.selectors import counts_by_reason, failed_images
from inspection.models import Facility
from inspection.review import access
from inspection.services import DomainError
from inspection.ui.dead_letter_forms import (
    FailedFilterForm,
    ReplayForm,
    model_versions,
    new_request_key,
)

PAGE_SIZE = 50
WHERE = "failed images page"


def admin_facilities(request: HttpRequest) -> QuerySet[Facility]:
    return access.facilities_of(request.user, (access.Role.ADMIN,))


@login_required
@require_GET
def failed_page(request: HttpRequest) -> HttpResponse:
    form = FailedFilterForm(request.GET)
    filters = form.filters()
    facilities = admin_facilities(request)
    images = failed_images(facilities, filters)
    context = {
        "form": form,
        "filters": filters,
        "facilities": facilities.order_by("slug"),
        "counts": counts_by_reason(images),
        "page": Paginator(images, PAGE_SIZE).get_page(request.GET.get("page")),
        "models": model_versions(),
        "request_key": new_request_key(),
        "back": request.get_full_path(),
    }
    return render(request, "review/failed.html", context)


@login_required
@require_POST
def replay(request: HttpRequest) -> HttpResponse:
    form = ReplayForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing replayed: {_problems(form)}")
        return _back(request)
    assert isinstance(request.user, User)  # signed in (login_required)
    try:
        outcome = request_replay(
            admin_facilities(request),
            form.scope(),
            Caller.of_user(request.user, WHERE),
            form.model,
            str(form.cleaned_data["request_key"]),
        )
    except ReplayKeyReused:
        messages.error(
            request, "Nothing replayed: this page already sent another replay. Try again."
        )
    except DomainError as exc:
        messages.error(request, f"Nothing replayed: {exc.detail}")
    else:
        messages.success(request, _said(outcome))
    return _back(request)


def _said(outcome: ReplayOutcome) -> str:
    row = outcome.request
    if not outcome.created:
        return f"Already sent (a repeated click): {row.replayed} image(s) were queued again then."
    model = f" with {row.model_version}" if row.model_version else ""
    skipped = len(row.skipped_ids)
    left = f"; {skipped} left alone (not failed any more, or no stored original)" if skipped else ""
    return f"{row.replayed} image(s) queued again{model}{left}."


def _problems(form: ReplayForm) -> str:
    return " ".join(f"{name}: {' '.join(map(str, errors))}" for name, errors in form.errors.items())


def _back(request: HttpRequest) -> HttpResponse:
    """To the page the button was on (its filters and page), never elsewhere."""
    page = reverse("review:failed")
    back = request.POST.get("back", "")
    return redirect(back if back.startswith(page + "?") else page)
