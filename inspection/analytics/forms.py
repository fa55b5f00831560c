"""The analytics page's filters: facility (one of yours, or all), camera, and period (24 hours,
7 or 30 days, or custom dates, whole UTC days). Turned into the query the API endpoints take."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from django import forms

from inspection.analytics.window import DEFAULT_PERIOD, PERIODS
from inspection.models import Facility

MAX_DAYS = 999
CUSTOM = "custom"
PERIOD_CHOICES = [
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    (CUSTOM, "Custom dates"),
]


class FilterForm(forms.Form):
    facility = forms.ChoiceField(required=False)
    camera = forms.ChoiceField(required=False)
    period = forms.ChoiceField(choices=PERIOD_CHOICES, required=False)
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data: Any, facilities: list[Facility], cameras: list[str]) -> None:
        super().__init__(data)
        # Both are the ChoiceFields declared above; `fields` is typed as plain Fields.
        cast(forms.ChoiceField, self.fields["facility"]).choices = [("", "All my facilities")] + [
            (f.slug, f"{f.name} ({f.slug})") for f in facilities
        ]
        cast(forms.ChoiceField, self.fields["camera"]).choices = [("", "All cameras")] + [
            (c, c) for c in cameras
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()  # Form.clean returns cleaned_data, typed as possibly None
        data = self.cleaned_data
        if data.get("period") != CUSTOM:
            return data
        start, end = data.get("date_from"), data.get("date_to")
        if start is None or end is None:
            raise forms.ValidationError("Custom dates need both From and To.")
        if end < start:
            raise forms.ValidationError("To must not be before From.")
        if (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(f"Custom dates span at most {MAX_DAYS} days.")
        return data

    def api_query(self) -> dict[str, str]:
        """The endpoints' parameters for what was chosen (the defaults when the form is not
        valid)."""
        data = self.cleaned_data if self.is_valid() else {}
        query = {key: data[key] for key in ("facility", "camera") if data.get(key)}
        period = data.get("period") or DEFAULT_PERIOD
        if period in PERIODS:
            return {**query, "period": period}
        return {**query, **custom_period(data["date_from"], data["date_to"])}


def custom_period(start: date, end: date) -> dict[str, str]:
    """Whole UTC days from `start` to `end`, both included."""
    until = datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC)
    return {"period": f"{(end - start).days + 1}d", "until": until.isoformat()}
