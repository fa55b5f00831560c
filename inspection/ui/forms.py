"""Forms validating what the review pages send; they hold no logic beyond that."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet

from inspection.models import ExportJob, Facility, Image
from inspection.review.decisions import REJECT_REASONS
from inspection.review.selectors import REASON_KINDS, QueueFilters

MAX_BOXES_JSON = 200_000
MISSING_BOXES = "The page sent no boxes with the accept; reload the page and decide again."


class QueueFilterForm(forms.Form):
    facility = forms.SlugField(required=False)
    # `class` is a Python keyword, so the field is renamed in `filters()`.
    klass = forms.CharField(required=False, max_length=100)
    reason = forms.ChoiceField(required=False, choices=[("", "Any"), *REASON_KINDS.items()])

    def __init__(self, data: Any, *args: Any, **kwargs: Any) -> None:
        data = {**data.dict(), "klass": data.get("class", "")} if data is not None else None
        super().__init__(data, *args, **kwargs)

    def filters(self) -> QueueFilters:
        if not self.is_valid():
            return QueueFilters()
        values = self.cleaned_data
        return QueueFilters(values["facility"], values["klass"], values["reason"])


class DecisionForm(forms.Form):
    verdict = forms.ChoiceField(choices=Image.Verdict.choices)
    # The boxes the reviewer sees, as a JSON list (`[]`: none). The page renders the model's
    # boxes here and its script writes the reviewer's on every submit; an accept without them
    # is refused, never taken to mean "the model's boxes" (that silently dropped edits).
    boxes = forms.CharField(required=False, max_length=MAX_BOXES_JSON)
    reason = forms.ChoiceField(required=False, choices=[("", "—"), *REJECT_REASONS.items()])
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("verdict") == Image.Verdict.ACCEPTED and not data.get("boxes"):
            self.add_error("boxes", MISSING_BOXES)
        return data

    def problems(self) -> str:
        """The errors as one line for the reviewer (field names mean nothing to them)."""
        return " ".join(str(message) for errors in self.errors.values() for message in errors)


class ExportForm(forms.Form):
    facility = forms.ModelChoiceField(queryset=Facility.objects.none(), to_field_name="slug")
    format = forms.ChoiceField(choices=ExportJob.Format.choices)
    date_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, facilities: QuerySet[Facility], *args: Any, **kwargs: Any) -> None:
        today = date.today()
        kwargs.setdefault("initial", {"date_from": today - timedelta(days=30), "date_to": today})
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = facilities  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data
