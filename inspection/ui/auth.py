"""Signing in again without losing the task. A review request whose session has ended (expired,
or replaced by a sign-in elsewhere) is sent to the sign-in page with `next` pointing back at the
task page (never at the POST-only URL it came to, which answered 405 after signing in); the
page's own background requests get a 401 with that sign-in URL instead, so the page can say so
while the reviewer's draft stays in the browser."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import resolve_url
from django.urls import reverse

View = Callable[..., HttpResponse]
SIGNED_OUT = "You are signed out. Sign in again to go on; your edits are kept in this browser."


def sign_in_url(back: str) -> str:
    return f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': back})}"


def page_to_return_to(kwargs: dict[str, Any]) -> str:
    if "task_id" in kwargs:
        return reverse("review:task", kwargs={"task_id": kwargs["task_id"]})
    return reverse("review:queue")


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def review_login_required(view: View) -> View:
    """`login_required` for the review pages' POSTs and background requests."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        login = sign_in_url(request.POST.get("next") or page_to_return_to(kwargs))
        if wants_json(request):
            return JsonResponse(
                {"signed_out": True, "login_url": login, "message": SIGNED_OUT}, status=401
            )
        return HttpResponseRedirect(login)

    return wrapper
