"""Forms of the failed images page: its filters, and a replay (which button was pressed says
the scope); they validate, nothing more."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.db.models import QuerySet

from inspection.dead_letters.replays import REASON_PATTERN, ReplayScope
from inspection.dead_letters.selectors import FailedFilter
from inspection.models import ModelVersion


class FailedFilterForm(forms.Form):
    facility = forms.SlugField(required=False)
    reason = forms.RegexField(REASON_PATTERN, required=False)
    batch = forms.UUIDField(required=False)
    since = forms.DateTimeField(required=False)

    def filters(self) -> FailedFilter:
        """What to list; an invalid filter is ignored (the page says so)."""
        if not self.is_valid():
            return FailedFilter()
        data = self.cleaned_data
        return FailedFilter(data["facility"], data["reason"], data["batch"], data["since"])


class ReplayForm(forms.Form):
    # The button pressed names the scope: an image, a batch, or a reason (with the page's
    # facility filter, when set).
    image = forms.UUIDField(required=False)
    batch = forms.UUIDField(required=False)
    reason = forms.RegexField(REASON_PATTERN, required=False)
    facility = forms.SlugField(required=False)
    model_version = forms.ModelChoiceField(ModelVersion.objects.none(), required=False)
    # Drawn when the page was rendered: a double click sends the same key twice, and the second
    # finds the first request (inspection.dead_letters.replays) instead of replaying again.
    request_key = forms.UUIDField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["model_version"]
        field.queryset = ModelVersion.objects.order_by("name", "version")  # type: ignore[attr-defined]

    def scope(self) -> ReplayScope:
        """Raises InvalidReplay for a scope that does not hold together."""
        data = self.cleaned_data
        if data["image"]:
            return ReplayScope(image=data["image"])
        if data["batch"]:
            return ReplayScope(batch=data["batch"])
        return ReplayScope(reason=data["reason"], facility=data["facility"])

    @property
    def model(self) -> ModelVersion | None:
        model: ModelVersion | None = self.cleaned_data["model_version"]
        return model


def new_request_key() -> str:
    return str(uuid.uuid4())


def model_versions() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.order_by("name", "version")
