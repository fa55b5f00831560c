"""Threshold policies in the admin: versions are the audit trail, so an existing version is
only viewed, and "add" writes a new version through the same service as the commands and the
API (the previous version is kept, inactive). A person typing numbers is never "calibrated":
that source belongs to calibrate_thresholds."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from inspection.models import ThresholdPolicy, ThresholdSource
from inspection.services.policies import (
    InvalidThresholds,
    ThresholdChange,
    check_change,
    save_policy_version,
)

TYPED_SOURCES = [(s.value, s.label) for s in ThresholdSource if s != ThresholdSource.CALIBRATED]


class ThresholdPolicyForm(forms.ModelForm):
    source = forms.ChoiceField(choices=TYPED_SOURCES)
    default_threshold = forms.FloatField(
        required=False, help_text="The threshold of classes without their own."
    )

    class Meta:
        model = ThresholdPolicy
        fields = [
            "facility",
            "model_version",
            "source",
            "default_threshold",
            "class_thresholds",
            "min_confidence",
            "note",
        ]

    def change(self) -> ThresholdChange:
        data = self.cleaned_data
        return ThresholdChange(
            data["source"],
            data.get("class_thresholds") or {},
            data.get("default_threshold"),
            data.get("min_confidence"),
            data.get("note") or "",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        model = data.get("model_version")
        if isinstance(data.get("class_thresholds"), dict) and "source" in data:
            try:
                check_change(self.change(), list(model.class_names) if model else None)
            except InvalidThresholds as exc:
                raise forms.ValidationError(exc.detail) from None
        return data


@admin.register(ThresholdPolicy)
class ThresholdPolicyAdmin(admin.ModelAdmin):
    form = ThresholdPolicyForm
    list_display = [
        "facility",
        "model_version",
        "version",
        "is_active",
        "source",
        "calibrated",
        "created_by",
        "created_at",
    ]
    list_filter = ["is_active", "source", "facility"]

    @admin.display(boolean=True)
    def calibrated(self, policy: ThresholdPolicy) -> bool:
        return policy.is_calibrated

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # a version is never edited: add a new one

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: ThresholdPolicy, form: Any, change: bool
    ) -> None:
        saved = save_policy_version(
            obj.facility,
            obj.model_version,
            form.change(),
            created_by=f"admin {request.user.get_username()}",
        )
        obj.pk, obj.version = saved.pk, saved.version
