"""Admin: configuration (facilities, users and their facility roles, keys, models, policies) is
editable; pipeline results are read-only here because the pipeline owns them, and review
decisions are read-only because they are the audit trail."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet, URLField
from django.http import HttpRequest
from django.utils import timezone

from inspection import admin_thresholds  # noqa: F401  (registers the policy admin)
from inspection.models import (
    AUDIT_SHARE_DEFAULT,
    ApiKey,
    Batch,
    Detection,
    DriftAlert,
    ExportJob,
    Facility,
    FacilityMembership,
    Image,
    ModelChange,
    ModelVersion,
    ReplayRequest,
    ReviewDecision,
    ReviewTask,
    WebhookDelivery,
)
from inspection.pipeline.policies import policy_for
from inspection.services.facilities import provide_model
from inspection.webhooks.masking import masked_url

User = get_user_model()

IMAGE_PIPELINE_FIELDS = (
    "batch",
    "facility",
    "position",
    "original_name",
    "content_hash",
    "storage_key",
    "size_bytes",
    "format",
    "width",
    "height",
    "status",
    "reason",
    "reason_detail",
    "review_reasons",
    "quality",
    "quality_flags",
    "timings",
    "attempts",
    "lease_expires_at",
    "preprocessed_key",
    "scale",
    "model_version",
    "replay_model",
    "multi_frame",
    "policy",
    "threshold_source",
    "created_at",
    "updated_at",
    "finished_at",
    "verdict",
    "reviewed_by",
    "reviewed_at",
)


class MembershipInline(admin.TabularInline):
    model = FacilityMembership
    extra = 0
    autocomplete_fields = ["user"]


class FacilityForm(forms.ModelForm):
    # Left blank (or left out of a scripted POST), the share is the model's default (2 %).
    audit_share = forms.FloatField(
        required=False,
        min_value=0.0,
        max_value=1.0,
        initial=AUDIT_SHARE_DEFAULT,
        help_text="Share of auto-accepted images sent to review as audits (0 to 1; blank: 0.02).",
    )

    class Meta:
        model = Facility
        fields = "__all__"

    def clean_audit_share(self) -> float:
        value = self.cleaned_data.get("audit_share")
        return AUDIT_SHARE_DEFAULT if value is None else float(value)


@admin.register(Facility)
class FacilityAdmin(admin.ModelAdmin):
    form = FacilityForm
    list_display = [
        "slug", "name", "active_model", "thresholds", "audit_share", "drift_routes_to_review",
        "created_at",
    ]  # fmt: skip
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    # The shadow changes through set_shadow or the shadow page, which audit it (ModelChange).
    readonly_fields = ["created_at", "shadow_model"]
    inlines = [MembershipInline]

    @admin.display(description="thresholds")
    def thresholds(self, facility: Facility) -> str:
        if facility.active_model_id is None:
            return "no model"
        applied = policy_for(facility.pk, facility.active_model_id)
        return applied.source if applied.calibrated else f"{applied.source} (UNCALIBRATED)"

    def save_model(self, request: HttpRequest, obj: Facility, form: Any, change: bool) -> None:
        """Left blank, the model is the bundled default; chosen, it is activated like the
        commands do (the workers load it before it is needed)."""
        super().save_model(request, obj, form, change)
        if not change or "active_model" in form.changed_data:
            provide_model(obj, obj.active_model)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["facilities"]
    search_fields = ["name", "prefix"]
    filter_horizontal = ["facilities"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    # The signing secret is shown once, by `create_api_key`, never on a page.
    exclude = ["webhook_secret"]
    formfield_overrides = {URLField: {"assume_scheme": "https"}}
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # The raw key must be shown once to whoever creates it: `manage.py create_api_key`.
        return False

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "format", "input_size", "threshold_source", "created_at"]
    list_filter = ["format", "threshold_source"]
    search_fields = ["name", "version"]
    # What registration chose; a facility changes thresholds by a new policy version.
    readonly_fields = [
        "checksum",
        "threshold_source",
        "default_threshold",
        "class_thresholds",
        "threshold_note",
    ]


IMAGE_COLUMNS = ("position", "original_name", "status", "reason")


class ImageInline(admin.TabularInline):
    model = Image
    extra = 0
    can_delete = False
    show_change_link = True
    fields = IMAGE_COLUMNS
    readonly_fields = IMAGE_COLUMNS

    def has_add_permission(self, request: HttpRequest, obj: Batch | None = None) -> bool:
        return False


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ["id", "facility", "status", "total", "camera", "created_at", "completed_at"]
    list_filter = ["status", "facility"]
    search_fields = ["id", "idempotency_key", "camera"]
    readonly_fields = ["api_key", "idempotency_key", "request_fingerprint", "total", "webhook"]
    # Shown masked (`webhook`): credentials in a webhook URL never appear on a page.
    exclude = ["webhook_url"]
    inlines = [ImageInline]

    @admin.display(description="webhook URL")
    def webhook(self, batch: Batch) -> str:
        return masked_url(batch.webhook_url)


class DetectionInline(admin.TabularInline):
    model = Detection
    extra = 0
    readonly_fields = [
        "source",
        "model_version",
        "class_id",
        "class_name",
        "confidence",
        "accepted",
    ]


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["id", "batch", "position", "original_name", "status", "reason"]
    list_filter = ["status", "facility"]
    search_fields = ["id", "original_name", "content_hash"]
    list_select_related = ["batch"]
    readonly_fields = IMAGE_PIPELINE_FIELDS
    inlines = [DetectionInline]


@admin.register(Detection)
class DetectionAdmin(admin.ModelAdmin):
    list_display = ["image", "source", "class_name", "confidence", "accepted", "model_version"]
    list_filter = ["source", "class_name", "accepted"]
    raw_id_fields = ["image"]


@admin.register(ReviewTask)
class ReviewTaskAdmin(admin.ModelAdmin):
    list_display = [
        "image",
        "facility",
        "status",
        "kind",
        "min_confidence",
        "created_at",
        "claimed_by",
        "lease_expires_at",
    ]
    list_filter = ["status", "kind", "facility"]
    raw_id_fields = ["image"]


class UserMembershipInline(admin.TabularInline):
    """A user's facilities and roles, edited on the user's page."""

    model = FacilityMembership
    extra = 1
    autocomplete_fields = ["facility"]
    verbose_name = "facility role"


admin.site.unregister(User)


@admin.register(User)
class InspectionUserAdmin(UserAdmin):
    inlines = [UserMembershipInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(ReadOnlyAdmin):
    """The audit trail: viewable, never added, changed or deleted here."""

    list_display = ["decided_at", "decided_by", "facility", "action", "verdict", "changed", "image"]
    list_filter = ["action", "verdict", "changed", "facility"]
    search_fields = ["image__id", "decided_by__username"]
    list_select_related = ["decided_by", "facility", "image"]
    date_hierarchy = "decided_at"


@admin.register(ReplayRequest)
class ReplayRequestAdmin(ReadOnlyAdmin):
    """The audit trail of replays (the failed images page, the API, `replay_failed`)."""

    list_display = ["requested_at", "author", "scope", "reason", "facility", "model_version"]
    list_display += ["replayed"]
    list_filter = ["scope", "facility"]
    search_fields = ["author", "image_id", "batch_id", "reason"]
    date_hierarchy = "requested_at"


@admin.register(DriftAlert)
class DriftAlertAdmin(ReadOnlyAdmin):
    """Viewable here; acknowledged on the thresholds page or over REST, where it is recorded."""

    list_display = [
        "opened_at", "facility", "camera", "model_version", "class_name", "kind", "statistic",
        "cutoff", "acknowledged_by", "acknowledged_at",
    ]  # fmt: skip
    list_filter = ["kind", "facility"]
    list_select_related = ["facility", "model_version"]


@admin.register(ModelChange)
class ModelChangeAdmin(ReadOnlyAdmin):
    """The audit trail of shadow, promotion and rollback changes (inspection/services/shadow.py)."""

    list_display = ["created_at", "facility", "action", "model_version", "previous_model"]
    list_filter = ["action", "facility"]
    list_select_related = ["facility", "model_version", "previous_model"]


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "facility", "format", "date_from", "date_to", "status"]
    list_filter = ["status", "format", "facility"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """Owned by the delivery service; re-queue with `manage.py redeliver_webhooks`."""

    list_display = ["created_at", "batch", "event", "target", "status", "attempts", "delivered_at"]
    list_filter = ["status", "event"]
    search_fields = ["batch__id", "url"]
    raw_id_fields = ["batch"]
    # Shown masked (`target`): credentials in a webhook URL never appear on a page.
    exclude = ["url"]
    readonly_fields = ["target"]

    @admin.display(description="URL", ordering="url")
    def target(self, delivery: WebhookDelivery) -> str:
        return masked_url(delivery.url)

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> WebhookDelivery | None:
        # The page's title and breadcrumbs show the delivery's str(), URL included; this page
        # is read-only, so the row it shows can carry the masked URL (it is never saved).
        delivery = super().get_object(request, object_id, from_field)
        if delivery is not None:
            delivery.url = masked_url(delivery.url)
        return delivery
