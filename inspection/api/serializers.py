"""Explicit input and output serializers. Inputs validate what the client sent; outputs shape
what we answer. Neither holds logic."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.reverse import reverse

from inspection.models import (
    Batch,
    Facility,
    Image,
    ModelVersion,
    ReviewTask,
    ThresholdPolicy,
    ThresholdSource,
    WebhookDelivery,
)
from inspection.selectors import CurrentThresholds, current_thresholds
from inspection.webhooks.delivery import event_delivery
from inspection.webhooks.masking import masked_url
from inspection.webhooks.targets import MAX_URL_LENGTH

# --- Inputs -----------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.BINARY)
class UploadField(serializers.FileField):
    """A file part of a multipart body (documented as binary, so Swagger UI offers a picker)."""


class UploadsField(serializers.ListField):
    """Required (the schema says so), but a request without files is refused by the submission
    service, as `limits_exceeded` like its other file limits, not as a missing field."""

    def get_value(self, dictionary: Any) -> Any:
        value = super().get_value(dictionary)
        return [] if value is empty else value


@extend_schema_field({"type": "string", "format": "uri", "pattern": "^https?://"})
class WebhookUrlField(serializers.CharField):
    """A URL (blank: none); its checks are the service's, so they answer `invalid_webhook_url`."""


class BatchSubmitInput(serializers.Serializer):
    facility = serializers.SlugField(max_length=64, help_text="Slug of the facility.")
    images = UploadsField(
        # Empty files are accepted here and fail in the pipeline, reported per image.
        child=UploadField(allow_empty_file=True, use_url=False),
        help_text="One or more image files, in order (repeat the field).",
    )
    camera = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    webhook_url = WebhookUrlField(
        # Checked by the service (scheme, reachable target), which answers invalid_webhook_url.
        max_length=MAX_URL_LENGTH,
        required=False,
        default="",
        allow_blank=True,
        help_text="POSTed a signed `batch.completed` event when the batch completes and, if "
        "it completed with images in review, a `batch.reviewed` event once reviewers have "
        "decided the last of them (overrides the API key's webhook URL).",
    )


class IdempotencyKeyInput(serializers.Serializer):
    idempotency_key = serializers.CharField(max_length=200, required=False, allow_blank=True)


class BatchFilterInput(serializers.Serializer):
    facility = serializers.SlugField(required=False)
    status = serializers.ChoiceField(choices=Batch.Status.choices, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)


class ImageFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=Image.Status.choices, required=False)


# --- Outputs ----------------------------------------------------------------------------------


class ErrorOutput(serializers.Serializer):
    """Every error answer (see `inspection.api.errors`)."""

    code = serializers.CharField(help_text="Stable and machine-readable, e.g. `not_found`.")
    detail = serializers.CharField(help_text="One line for people.")
    # An API field named like an attribute of DRF's Field; DRF's serializer metaclass takes
    # declared fields off the class, so nothing is shadowed (the stubs cannot know that).
    errors = serializers.DictField(  # type: ignore[assignment]
        required=False,
        help_text="With `invalid`: the messages per field (nested like the input).",
    )
    fix = serializers.CharField(
        required=False,
        help_text="With `no_active_model`: the command an operator runs to fix it.",
    )


class BatchCountsOutput(serializers.Serializer):
    total = serializers.IntegerField(source="count_total")
    queued = serializers.IntegerField(source="count_queued")
    processing = serializers.IntegerField(source="count_processing")
    accepted = serializers.IntegerField(source="count_accepted")
    needs_review = serializers.IntegerField(source="count_needs_review")
    failed = serializers.IntegerField(source="count_failed")
    rejected = serializers.IntegerField(
        source="count_rejected", help_text="Rejected by a reviewer."
    )


class BatchUrlsOutput(serializers.Serializer):
    self = serializers.SerializerMethodField()
    images = serializers.SerializerMethodField()
    results_json = serializers.SerializerMethodField()
    results_csv = serializers.SerializerMethodField()

    def _url(self, name: str, batch: Batch) -> str:
        request = self.context.get("request")
        return reverse(name, kwargs={"batch_id": batch.pk}, request=request)

    def get_self(self, batch: Batch) -> str:
        return self._url("api:batch-detail", batch)

    def get_images(self, batch: Batch) -> str:
        return self._url("api:batch-images", batch)

    def get_results_json(self, batch: Batch) -> str:
        return self._url("api:batch-results-json", batch)

    def get_results_csv(self, batch: Batch) -> str:
        return self._url("api:batch-results-csv", batch)


class MaskedUrlField(serializers.URLField):
    """A webhook URL as we show it: credentials in it are masked (https://***@host/hook)."""

    def to_representation(self, value: str) -> str:
        return masked_url(value)


class WebhookOutput(serializers.Serializer):
    url = MaskedUrlField(help_text="Where it is sent; a user name and password show as `***`.")
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices)
    attempts = serializers.IntegerField()
    delivered_at = serializers.DateTimeField(allow_null=True)


class BatchOutput(serializers.Serializer):
    """A batch loaded through `selectors.batches_for` (which annotates the counts)."""

    id = serializers.UUIDField()
    facility = serializers.CharField(source="facility.slug")
    status = serializers.ChoiceField(choices=Batch.Status.choices)
    camera = serializers.CharField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    counts = BatchCountsOutput(source="*")
    urls = BatchUrlsOutput(source="*")
    webhook = serializers.SerializerMethodField(
        help_text="The `batch.completed` delivery; null before completion or without a webhook."
    )
    webhook_reviewed = serializers.SerializerMethodField(
        help_text="The `batch.reviewed` delivery; null until reviewers have decided the last "
        "image the batch completed with in review, always null for a batch that needed no "
        "review, and null without a webhook."
    )

    @extend_schema_field(WebhookOutput(allow_null=True))
    def get_webhook(self, batch: Batch) -> dict[str, object] | None:
        return _delivery(batch, WebhookDelivery.Event.BATCH_COMPLETED)

    @extend_schema_field(WebhookOutput(allow_null=True))
    def get_webhook_reviewed(self, batch: Batch) -> dict[str, object] | None:
        return _delivery(batch, WebhookDelivery.Event.BATCH_REVIEWED)


class RefusedUploadOutput(serializers.Serializer):
    """A refused file, from its failed image row."""

    index = serializers.IntegerField(
        source="position", help_text="Position of the file in the request, from 0."
    )
    name = serializers.CharField(
        source="original_name", help_text="The file's name as sent (sanitized)."
    )
    reason = serializers.CharField(help_text="`file_too_large`, `too_many_pixels` or `too_small`.")
    detail = serializers.CharField(source="reason_detail")


class BatchSubmitOutput(BatchOutput):
    """The answer to a submission: the batch, and the files refused on their own."""

    refused_files = RefusedUploadOutput(
        many=True,
        source="refused_uploads",
        help_text="Files over a per-file limit (MAX_UPLOAD_BYTES, MAX_IMAGE_PIXELS, "
        "MIN_IMAGE_SIDE): each is a `failed` image with that reason and nothing of it was "
        "stored; the other files are processed.",
    )


def _delivery(batch: Batch, event: str) -> dict[str, object] | None:
    delivery = event_delivery(batch, event)
    return WebhookOutput(delivery).data if delivery else None


class DetectionOutput(serializers.Serializer):
    class_id = serializers.IntegerField()
    class_name = serializers.CharField()
    confidence = serializers.FloatField(
        allow_null=True, help_text="The model's confidence; null for a reviewer's box."
    )
    box = serializers.ListField(
        child=serializers.FloatField(), source="as_box", help_text="[x1, y1, x2, y2] in pixels."
    )
    accepted = serializers.BooleanField(allow_null=True)


class ReviewOutput(serializers.Serializer):
    """The human verdict on an image that went to review and was decided."""

    verdict = serializers.ChoiceField(choices=Image.Verdict.choices)
    decided_by = serializers.CharField(source="reviewed_by.get_username", allow_null=True)
    decided_at = serializers.DateTimeField(source="reviewed_at")
    reason = serializers.CharField(help_text="Reject reason code (blank when accepted).")
    comment = serializers.CharField(source="reason_detail")
    model_detections = DetectionOutput(
        many=True, help_text="The model's answer before review (`detections` is the final one)."
    )
    audit = serializers.SerializerMethodField(
        help_text="True when the pipeline had accepted the image and an audit (a random share "
        "of accepted images reviewers check) changed its result (`result.corrected`)."
    )

    def get_audit(self, image: Image) -> bool:
        task = getattr(image, "review_task", None)  # none: no task (a reverse one-to-one)
        return task is not None and task.kind == ReviewTask.Kind.AUDIT


class ThresholdsOutput(serializers.Serializer):
    """Which thresholds routed an image, and whether they rest on labelled data."""

    # An API field named like an attribute of DRF's Field; DRF's serializer metaclass takes
    # declared fields off the class, so nothing is shadowed (the stubs cannot know that).
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=ThresholdSource.choices,
        source="threshold_source",
        help_text="`calibrated` (on labelled data), `manual` (per class, by an operator), "
        "`uniform` (one threshold for every class) or `review_all` (none yet: every image "
        "goes to review).",
    )
    calibrated = serializers.BooleanField(source="thresholds_calibrated")
    policy_version = serializers.IntegerField(
        source="policy.version",
        allow_null=True,
        help_text="The facility's policy version; null when the model's registration "
        "thresholds applied.",
    )


class ImageOutput(serializers.Serializer):
    id = serializers.UUIDField()
    position = serializers.IntegerField()
    original_name = serializers.CharField()
    status = serializers.ChoiceField(choices=Image.Status.choices)
    reason = serializers.CharField()
    reason_detail = serializers.CharField()
    review_reasons = serializers.JSONField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    format = serializers.CharField()
    size_bytes = serializers.IntegerField()
    content_hash = serializers.CharField()
    quality = serializers.JSONField()
    quality_flags = serializers.JSONField()
    timings = serializers.JSONField(
        help_text="Milliseconds per stage (`*_ms`), and `backend`: the runtime that ran the "
        "model on the image (`torch`, `openvino` or `onnxruntime`)."
    )
    attempts = serializers.IntegerField()
    model_version: serializers.StringRelatedField[ModelVersion] = serializers.StringRelatedField(
        allow_null=True, help_text="`name:version`; null until a model has run on the image."
    )
    detections = DetectionOutput(
        many=True,
        source="final_detections",
        help_text="The final boxes: the reviewer's once a person decided, else the model's.",
    )
    review = serializers.SerializerMethodField()
    multi_frame = serializers.BooleanField(
        help_text="The file had several frames or pages; the first was processed."
    )
    thresholds = serializers.SerializerMethodField(
        help_text="The thresholds that routed the image (null until it was validated)."
    )
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(ReviewOutput(allow_null=True))
    def get_review(self, image: Image) -> dict[str, object] | None:
        return ReviewOutput(image).data if image.verdict else None

    @extend_schema_field(ThresholdsOutput(allow_null=True))
    def get_thresholds(self, image: Image) -> dict[str, object] | None:
        return ThresholdsOutput(image).data if image.threshold_source else None


class ResultRowOutput(serializers.Serializer):
    """One row of a results export: one detection, or an image with none."""

    image_id = serializers.UUIDField()
    position = serializers.IntegerField()
    original_name = serializers.CharField()
    status = serializers.ChoiceField(choices=Image.Status.choices)
    reason = serializers.CharField()
    multi_frame = serializers.BooleanField()
    thresholds = serializers.CharField(
        help_text="The source of the thresholds that routed the image (blank before)."
    )
    calibrated = serializers.BooleanField(
        allow_null=True, help_text="Whether those thresholds rest on labelled data."
    )
    class_id = serializers.IntegerField(allow_null=True)
    class_name = serializers.CharField()
    confidence = serializers.FloatField(allow_null=True)
    accepted = serializers.BooleanField(allow_null=True)
    box = serializers.ListField(child=serializers.FloatField(), allow_null=True)


class BatchResultsOutput(serializers.Serializer):
    """`{"batch": <Batch>, "rows": [<ResultRow>, ...]}`."""

    batch = BatchOutput()
    rows = ResultRowOutput(many=True)


# --- Facilities and their thresholds -----------------------------------------------------------


class StrictFloatField(serializers.FloatField):
    """A JSON number, not a string that looks like one (the schema says number)."""

    def to_internal_value(self, data: object) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return float(super().to_internal_value(data))


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean, not "yes" or 1."""

    def to_internal_value(self, data: object) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class ThresholdsInput(serializers.Serializer):
    """New thresholds for the facility's active model: per class (`classes`, with a `default`
    for the classes left out), one `default` for every class, or `review_all: true` (no
    thresholds: everything to review). Unknown fields are refused. The schema is written out in
    `schema.ThresholdsInputSchema`."""

    classes = serializers.DictField(
        child=StrictFloatField(min_value=0, max_value=1),
        required=False,
        default=dict,
        help_text='Class name -> threshold, e.g. {"damage": 0.6}.',
    )
    default = StrictFloatField(
        min_value=0,
        max_value=1,
        required=False,
        help_text="The threshold of every class not in `classes`.",
    )
    review_all = StrictBooleanField(
        required=False, default=False, help_text="`true` alone: accept nothing automatically."
    )
    min_confidence = StrictFloatField(
        min_value=0,
        max_value=1,
        required=False,
        help_text="Boxes below this are noise and dropped (default: the previous version's).",
    )
    note = StrictCharField(max_length=200, required=False, allow_blank=True, default="")

    def validate(self, data: dict[str, object]) -> dict[str, object]:
        sent = self.initial_data if isinstance(self.initial_data, dict) else {}
        unknown = sorted(set(sent) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(f"Unknown field(s): {', '.join(unknown)}.")
        values = "classes" in sent or "default" in sent
        if "review_all" in sent:
            if not data["review_all"] or values:
                raise serializers.ValidationError(
                    "`review_all: true` comes alone (with `note` or `min_confidence`)."
                )
        elif not data.get("classes") and "default" not in data:
            raise serializers.ValidationError(
                "Give `classes` (with a `default` for the other classes), a `default`, or "
                "`review_all: true`."
            )
        return data


class CurrentThresholdsOutput(serializers.Serializer):
    """What routes the facility's images now (its active model's thresholds)."""

    facility = serializers.CharField(source="facility.slug")
    model_version = serializers.CharField(source="model")
    model_classes = serializers.ListField(child=serializers.CharField(), source="model.class_names")
    # An API field named like an attribute of DRF's Field; DRF's serializer metaclass takes
    # declared fields off the class, so nothing is shadowed (the stubs cannot know that).
    source = serializers.ChoiceField(choices=ThresholdSource.choices)  # type: ignore[assignment]
    calibrated = serializers.BooleanField(help_text="Whether they rest on labelled data.")
    version = serializers.IntegerField(
        source="policy.version",
        allow_null=True,
        help_text="The facility's policy version; null: the model's registration thresholds.",
    )
    # Not get_default: that name is Field.get_default, which DRF calls on a nested serializer.
    default = serializers.SerializerMethodField(
        method_name="get_default_threshold", help_text="Null with `review_all`."
    )
    classes = serializers.SerializerMethodField(help_text="Empty with `review_all`.")
    min_confidence = serializers.FloatField(source="rules.min_confidence")
    review_all = serializers.BooleanField(source="rules.review_all")
    note = serializers.CharField()
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_default_threshold(self, current: CurrentThresholds) -> float | None:
        return None if current.rules.review_all else current.rules.default_threshold

    @extend_schema_field(serializers.DictField(child=serializers.FloatField()))
    def get_classes(self, current: CurrentThresholds) -> dict[str, float]:
        return {} if current.rules.review_all else dict(current.rules.class_thresholds)


class PolicyVersionOutput(serializers.Serializer):
    """One version of a facility's thresholds (kept when a newer one replaces it)."""

    version = serializers.IntegerField()
    model_version: serializers.StringRelatedField[ModelVersion] = serializers.StringRelatedField(
        allow_null=True, help_text="`name:version`; null: the policy applies to any model."
    )
    is_active = serializers.BooleanField()
    # An API field named like an attribute of DRF's Field; DRF's serializer metaclass takes
    # declared fields off the class, so nothing is shadowed (the stubs cannot know that).
    source = serializers.ChoiceField(choices=ThresholdSource.choices)  # type: ignore[assignment]
    calibrated = serializers.BooleanField(source="is_calibrated")
    # Not get_default: that name is Field.get_default, which DRF calls on a nested serializer.
    default = serializers.SerializerMethodField(
        method_name="get_default_threshold", help_text="Null with `review_all`."
    )
    classes = serializers.SerializerMethodField(help_text="Empty with `review_all`.")
    min_confidence = serializers.FloatField()
    note = serializers.CharField()
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_default_threshold(self, policy: ThresholdPolicy) -> float | None:
        return None if policy.review_all else policy.default_threshold

    @extend_schema_field(serializers.DictField(child=serializers.FloatField()))
    def get_classes(self, policy: ThresholdPolicy) -> dict[str, float]:
        return {} if policy.review_all else dict(policy.class_thresholds)


class FacilityOutput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    model_version: serializers.StringRelatedField[ModelVersion] = serializers.StringRelatedField(
        source="active_model", allow_null=True, help_text="The active model; null: none."
    )
    thresholds = serializers.SerializerMethodField()

    @extend_schema_field(CurrentThresholdsOutput(allow_null=True))
    def get_thresholds(self, facility: Facility) -> dict[str, object] | None:
        current = current_thresholds(facility)
        return CurrentThresholdsOutput(current).data if current else None
