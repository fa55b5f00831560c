"""Domain models: facilities, API keys, model versions, threshold policies, batches, images,
detections, review tasks, review decisions, replay requests and export jobs. One-row state
changes live here as methods; workflows that span models live in services.

How a human verdict is stored (see `inspection.review.decisions`):
- `Image.status` moves from `needs_review` to `accepted` or `rejected`, and `Image.verdict`,
  `reviewed_by`, `reviewed_at` say that a person decided it (an image accepted by the pipeline
  has a blank verdict).
- The model's boxes are never changed: they stay `Detection` rows with `source=model`. The
  reviewer's final boxes are new rows with `source=reviewer`. `Image.final_detections()` is the
  result (reviewer rows once a person decided, model rows before), so both answers are kept for
  override statistics and retraining.
- Every decision is one `ReviewDecision` row, append-only, holding the before and after state.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from inspection.statuses import ImageStatus
from inspection.webhooks.masking import masked_url

# The longest wait, in sweep intervals, between re-sends of a pending export job.
RESEND_MAX_WAITS = 12
# A facility's share of auto-accepted images audited, unless set (Facility.audit_share).
AUDIT_SHARE_DEFAULT = 0.02


def conditional_update(row: models.Model, condition: Q, fields: Mapping[str, object]) -> bool:
    """UPDATE one row only where `condition` holds; on success mirror the fields on the
    instance. Exactly one of several concurrent callers wins."""
    changed = type(row)._default_manager.filter(condition, pk=row.pk).update(**fields)
    if changed:
        for name, value in fields.items():
            setattr(row, name, value)
    return changed == 1


class Facility(models.Model):
    """A distribution center: the unit of tenancy. Every query is scoped to facilities."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    active_model = models.ForeignKey(
        "ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A candidate run on the same images after the active model, its boxes stored apart
    # (Detection.Source.SHADOW) and never routed (inspection/services/shadow.py).
    shadow_model = models.ForeignKey(
        "ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="FacilityMembership", related_name="facilities"
    )
    # The share of auto-accepted images that also go to review as audit tasks (the measured
    # precision of what nobody looks at rests on them: inspection/learning/).
    audit_share = models.FloatField(
        default=AUDIT_SHARE_DEFAULT,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of auto-accepted images sent to review as audits (0 to 1).",
    )
    # While a drift alert of a class is open here, images with a box of that class go to review
    # (inspection/learning/drift_routing.py). Off by default: more review work is a choice.
    drift_routes_to_review = models.BooleanField(
        default=False,
        help_text="Route a class to review while a drift alert on it is open (until an admin "
        "acknowledges it).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "facilities"
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class FacilityMembership(models.Model):
    """A user's role at one facility (reviewers, facility admins)."""

    class Role(models.TextChoices):
        REVIEWER = "reviewer"
        ADMIN = "admin"
        VIEWER = "viewer"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REVIEWER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "facility"], name="uniq_membership")]


class ApiKey(models.Model):
    """An integrator's key. Only a hash is stored; the key is shown once at creation."""

    PREFIX_LENGTH = 8

    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True)
    key_hash = models.CharField(max_length=64)
    facilities = models.ManyToManyField(Facility, related_name="api_keys")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Webhooks: where completed (and later reviewed) batches are announced (a batch may name its
    # own URL instead), and the HMAC secret that signs every delivery. The secret is kept in the
    # clear because signing needs it; like the key it is shown once, at creation.
    webhook_url = models.URLField(max_length=500, blank=True)
    webhook_secret = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(raw_key: str) -> str:
        return hashlib.sha256(raw_key.encode()).hexdigest()

    @classmethod
    def generate(cls, name: str) -> tuple[ApiKey, str]:
        """Create an unsaved key and return it with the raw secret (`<prefix>.<secret>`)."""
        prefix = secrets.token_hex(cls.PREFIX_LENGTH // 2)
        raw = f"{prefix}.{secrets.token_urlsafe(32)}"
        key = cls(name=name, prefix=prefix, key_hash=cls.hash_key(raw))
        key.webhook_secret = cls.generate_webhook_secret()
        return key, raw

    @staticmethod
    def generate_webhook_secret() -> str:
        return f"whsec_{secrets.token_urlsafe(32)}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ThresholdSource(models.TextChoices):
    """Where a set of thresholds came from. Only `calibrated` rests on labelled data; the others
    are shown as uncalibrated wherever a result or a task shows its thresholds."""

    CALIBRATED = "calibrated", "calibrated on labelled data"
    MANUAL = "manual", "set per class by an operator (uncalibrated)"
    UNIFORM = "uniform", "one threshold for every class (uncalibrated)"
    REVIEW_ALL = "review_all", "everything to review (no thresholds yet)"


class ModelVersion(models.Model):
    """A registered detector: an ultralytics `.pt` or one of its exports."""

    class Format(models.TextChoices):
        PYTORCH = "pt"
        ONNX = "onnx"
        OPENVINO = "openvino"

    name = models.CharField(max_length=100)
    version = models.CharField(max_length=50)
    file_path = models.CharField(max_length=500, help_text="Local path of the weights.")
    format = models.CharField(max_length=16, choices=Format.choices, default=Format.PYTORCH)
    class_names = models.JSONField(default=list, help_text="Class names by class id.")
    input_size = models.PositiveIntegerField(default=640)
    checksum = models.CharField(max_length=64, help_text="sha256 of the weights file.")
    # The thresholds the operator chose at registration: what a facility gets until it sets its
    # own policy version (set_thresholds, calibrate_thresholds). Never silently 0.5: a model
    # registered without a choice sends every image to review.
    threshold_source = models.CharField(
        max_length=16, choices=ThresholdSource.choices, default=ThresholdSource.REVIEW_ALL
    )
    default_threshold = models.FloatField(default=0.5)
    class_thresholds = models.JSONField(default=dict, blank=True)
    threshold_note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="uniq_model_version")
        ]

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def is_calibrated(self) -> bool:
        return self.threshold_source == ThresholdSource.CALIBRATED


class ThresholdPolicy(models.Model):
    """Per-facility, per-class confidence thresholds, versioned; one active per facility and
    model version (a null model version applies to any model)."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="policies")
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="policies"
    )
    version = models.PositiveIntegerField(default=1)
    is_active = models.BooleanField(default=True)
    # Detections at or above their class threshold are accepted; between min_confidence and the
    # threshold they send the image to review; below min_confidence they are noise and dropped.
    default_threshold = models.FloatField(default=0.5)
    class_thresholds = models.JSONField(default=dict, blank=True)
    min_confidence = models.FloatField(default=0.1)
    review_if_no_detections = models.BooleanField(default=True)
    review_on_quality_flags = models.BooleanField(default=True)
    source = models.CharField(
        max_length=16, choices=ThresholdSource.choices, default=ThresholdSource.MANUAL
    )
    note = models.CharField(max_length=200, blank=True)
    # The audit of a policy version: who wrote it (a user, an API key, a command) and, for a
    # calibrated one, what it rests on (data, split, per-class precision).
    created_by = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "threshold policies"
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "model_version", "version"], name="uniq_policy_version"
            ),
            models.UniqueConstraint(
                fields=["facility", "model_version"],
                condition=Q(is_active=True),
                name="one_active_policy",
                nulls_distinct=False,
            ),
        ]

    def threshold_for(self, class_name: str) -> float:
        return float(self.class_thresholds.get(class_name, self.default_threshold))

    @property
    def is_calibrated(self) -> bool:
        return self.source == ThresholdSource.CALIBRATED

    @property
    def review_all(self) -> bool:
        return self.source == ThresholdSource.REVIEW_ALL


class Batch(models.Model):
    """One submission of images. Its counts are derived from its images, never stored twice."""

    class Status(models.TextChoices):
        PROCESSING = "processing"
        COMPLETED = "completed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="batches")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROCESSING)
    total = models.PositiveIntegerField(default=0)
    camera = models.CharField(max_length=100, blank=True)
    webhook_url = models.URLField(
        max_length=500, blank=True, help_text="Set at submission; overrides the key's URL."
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Not a column: set by the submission view for its answer (BatchSubmitOutput.refused_files).
    refused_uploads: list[Image]

    class Meta:
        verbose_name_plural = "batches"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "idempotency_key"], name="uniq_batch_idempotency_key"
            )
        ]

    def __str__(self) -> str:
        return str(self.id)


class WebhookDelivery(models.Model):
    """One event announced to one URL, with its attempts. Created with the event (in the same
    transaction), sent by a worker; `next_attempt_at` is both the retry schedule and the claim:
    an attempt moves it forward by a lease, so nobody else sends while it runs, and a worker
    that dies mid-attempt leaves a row the periodic re-publisher picks up when the lease ends."""

    class Event(models.TextChoices):
        BATCH_COMPLETED = "batch.completed"
        # Only for a batch that completed with images in review: its last verdict is decided.
        BATCH_REVIEWED = "batch.reviewed"
        # An audit of an auto-accepted image changed its result: one per image (`image` set).
        RESULT_CORRECTED = "result.corrected"

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="webhook_deliveries")
    event = models.CharField(max_length=32, choices=Event.choices)
    # The image an image-level event is about (`result.corrected`); null for batch events.
    image = models.ForeignKey(
        "Image", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    url = models.URLField(max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "event", "url", "image"],
                name="uniq_webhook_delivery",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.batch_id} -> {masked_url(self.url)} ({self.status})"

    def claim(self, now: datetime, lease_seconds: int) -> bool:
        """Take the next attempt: only a pending delivery that is due, and only if nobody took
        this attempt first (the attempt count is the fence)."""
        due = Q(status=self.Status.PENDING, attempts=self.attempts, next_attempt_at__lte=now)
        fields = {
            "attempts": self.attempts + 1,
            "next_attempt_at": now + timedelta(seconds=lease_seconds),
            "updated_at": now,
        }
        return conditional_update(self, due, fields)

    def record(self, now: datetime, fields: dict[str, object]) -> bool:
        """Store the outcome of the attempt this instance claimed (a no-op if it was taken
        over or re-queued meanwhile)."""
        mine = Q(status=self.Status.PENDING, attempts=self.attempts)
        return conditional_update(self, mine, {**fields, "updated_at": now})

    def requeue(self, now: datetime) -> bool:
        """A failed delivery gets a fresh set of attempts."""
        fields = {
            "status": self.Status.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "updated_at": now,
        }
        return conditional_update(self, Q(status=self.Status.FAILED), fields)


class Image(models.Model):
    """One uploaded image and its way through preprocess -> infer -> validate."""

    Status = ImageStatus

    class Verdict(models.TextChoices):
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    TERMINAL = (Status.ACCEPTED, Status.NEEDS_REVIEW, Status.FAILED, Status.REJECTED)
    # Waiting for a worker at a stage (one message each; the sweeper sends what is missing).
    WAITING = (Status.QUEUED, Status.PREPROCESSED, Status.INFERRED)
    # Held by a worker under a lease: the sweeper re-enqueues these when the lease expires.
    LEASED = (Status.PREPROCESSING, Status.INFERRING, Status.VALIDATING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="images")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="images")
    position = models.PositiveIntegerField(help_text="Order within the batch, from 0.")
    original_name = models.CharField(max_length=255, blank=True)
    content_hash = models.CharField(max_length=64, blank=True, db_index=True)
    storage_key = models.CharField(max_length=300, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    format = models.CharField(max_length=16, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)

    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    reason = models.CharField(max_length=64, blank=True, help_text="Failure reason code.")
    reason_detail = models.CharField(max_length=500, blank=True)
    review_reasons = models.JSONField(default=list, blank=True)
    quality = models.JSONField(default=dict, blank=True)
    quality_flags = models.JSONField(default=list, blank=True)
    timings = models.JSONField(default=dict, blank=True, help_text="Milliseconds per stage.")
    attempts = models.PositiveIntegerField(default=0)
    # The claim of the stage that holds the image (pipeline/claims.py): its fencing token, the
    # worker process holding it (`<node>/<pid>`) and its lease, in the database's clock.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    leased_by = models.CharField(max_length=200, blank=True)
    # The sweeper's marks: when it last re-sent a message for the image's current stage, and how
    # often since the image entered it (each re-send waits twice as long as the one before).
    resent_at = models.DateTimeField(null=True, blank=True)
    resends = models.PositiveSmallIntegerField(default=0)

    # Preprocessing output: a resized, oriented 8-bit BGR array and its scale to the original.
    preprocessed_key = models.CharField(max_length=300, blank=True)
    scale = models.FloatField(null=True, blank=True)
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A replay against another model version (pipeline/replay.py): preprocessing takes this one
    # instead of the facility's active model, for this image only. Null: the active model.
    replay_model = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The upload had more than one frame (animated GIF/WebP/PNG, multi-page TIFF): the first was
    # processed (or the image was refused, by MULTI_FRAME_IMAGES=refuse).
    multi_frame = models.BooleanField(default=False)
    # The thresholds that routed the image: the facility's policy version (null when the model's
    # registration thresholds applied) and where they came from.
    policy = models.ForeignKey(
        ThresholdPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    threshold_source = models.CharField(max_length=16, choices=ThresholdSource.choices, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    # The human verdict (blank until a reviewer decides; `reason` then holds a reject reason).
    verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["batch", "position"]
        indexes = [
            models.Index(fields=["batch", "status"]),
            models.Index(fields=["status", "updated_at"]),
            # Fair claiming: a facility's oldest image waiting at a stage.
            models.Index(fields=["facility", "status", "created_at"]),
            # Analytics: a facility's images decided in an hour (latency, the model's boxes).
            models.Index(fields=["facility", "finished_at"]),
            # Analytics by camera: a task's or decision's image to its batch without reading the
            # images' rows (an index-only scan where the join takes every image).
            models.Index(fields=["id", "batch"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["batch", "position"], name="uniq_image_position")
        ]

    def __str__(self) -> str:
        return f"{self.original_name or self.id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def thresholds_calibrated(self) -> bool | None:
        """Whether the thresholds that routed the image rest on labelled data (None before)."""
        return (
            self.threshold_source == ThresholdSource.CALIBRATED if self.threshold_source else None
        )

    def final_detections(self) -> list[Detection]:
        """The result: the reviewer's boxes once a person decided, the model's before (works on
        prefetched `detections`)."""
        source = Detection.Source.REVIEWER if self.verdict else Detection.Source.MODEL
        return [d for d in self.detections.all() if d.source == source]

    def model_detections(self) -> list[Detection]:
        return [d for d in self.detections.all() if d.source == Detection.Source.MODEL]

    def record_verdict(
        self, verdict: str, user: object, at: datetime, reason: str = "", comment: str = ""
    ) -> bool:
        """Store a human verdict, only while the image still waits for one."""
        fields = self._verdict_fields(verdict, user, at, reason, comment)
        return conditional_update(self, Q(status=self.Status.NEEDS_REVIEW), fields)

    def record_audit_correction(
        self, verdict: str, user: object, at: datetime, reason: str = "", comment: str = ""
    ) -> bool:
        """An audit changed the result of an image the pipeline accepted: store the verdict
        like a review's (the API then shows the reviewer's boxes), once, only while the image
        still holds the pipeline's answer."""
        fields = self._verdict_fields(verdict, user, at, reason, comment)
        return conditional_update(self, Q(status=self.Status.ACCEPTED, verdict=""), fields)

    def _verdict_fields(
        self, verdict: str, user: object, at: datetime, reason: str, comment: str
    ) -> dict[str, object]:
        """What a human verdict writes on the image, a review's or an audit's."""
        status = self.Status.ACCEPTED if verdict == self.Verdict.ACCEPTED else self.Status.REJECTED
        return {
            "status": status,
            "verdict": verdict,
            "reviewed_by": user,
            "reviewed_at": at,
            "reason": reason,
            "reason_detail": comment[:500],
            "updated_at": at,
        }


class Detection(models.Model):
    """One box, in original-image pixels (after EXIF orientation). `source=model`: predicted
    (with its model and confidence), never changed by review. `source=reviewer`: part of a
    reviewer's final answer (no model, no confidence); see the module docstring. `source=shadow`:
    predicted by the facility's shadow model (its model_version), for comparison only: routing,
    results, exports and statistics read `model` and `reviewer` rows and never these."""

    class Source(models.TextChoices):
        MODEL = "model"
        REVIEWER = "reviewer"
        SHADOW = "shadow"

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="detections")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MODEL)
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.PROTECT)
    class_id = models.PositiveIntegerField()
    class_name = models.CharField(max_length=100)
    confidence = models.FloatField(null=True, blank=True)
    x1 = models.FloatField()
    y1 = models.FloatField()
    x2 = models.FloatField()
    y2 = models.FloatField()
    accepted = models.BooleanField(
        null=True, help_text="Set by validation: at or above its class threshold."
    )

    class Meta:
        ordering = ["image", "-confidence"]

    def as_box(self) -> list[float]:
        return [self.x1, self.y1, self.x2, self.y2]


class ShadowRun(models.Model):
    """A shadow model ran on an image (with no box, too: the comparison needs to know it looked).
    Its boxes are the image's Detection rows with `source=shadow` and this model version."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="shadow_runs")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    boxes = models.PositiveIntegerField(default=0)
    inference_ms = models.FloatField(help_text="The shadow's time per image in its batch.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["image", "model_version"], name="uniq_shadow_run")
        ]


class ModelChange(models.Model):
    """The audit trail of a facility's models: setting or clearing its shadow, promoting the
    shadow to active, rolling a promotion back. Append-only, like ReviewDecision. A promotion
    remembers the pair it replaced (previous model and the policy version that routed it), which
    is what a rollback restores; `undoes` links a rollback to its promotion (once)."""

    class Action(models.TextChoices):
        SHADOW_SET = "shadow_set", "shadow set"
        SHADOW_CLEARED = "shadow_cleared", "shadow cleared"
        PROMOTE = "promote", "promoted"
        ROLLBACK = "rollback", "rolled back"

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="model_changes")
    action = models.CharField(max_length=16, choices=Action.choices)
    # The model the change is about (the new shadow, the promoted or the restored model).
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    policy = models.ForeignKey(
        ThresholdPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    previous_model = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The policy version that routed the previous model (null: its registration thresholds).
    previous_policy = models.ForeignKey(
        ThresholdPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    undoes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="undone_by"
    )
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} {self.model_version_id} at {self.facility_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise AuditRowImmutable("Model changes are append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AuditRowImmutable("Model changes are append-only.")


class ReviewTask(models.Model):
    """An image that needs a human verdict, with the reasons it was routed to review."""

    class Status(models.TextChoices):
        OPEN = "open"
        CLAIMED = "claimed"
        DONE = "done"

    class Kind(models.TextChoices):
        REVIEW = "review"  # the pipeline was unsure: the image waits for this verdict
        # A random share of auto-accepted images (Facility.audit_share): the result stands
        # unless the verdict corrects it (inspection/learning/audits.py).
        AUDIT = "audit"

    image = models.OneToOneField(Image, on_delete=models.CASCADE, related_name="review_task")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="review_tasks")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    reasons = models.JSONField(default=list)
    min_confidence = models.FloatField(
        null=True, blank=True, help_text="Lowest detection confidence: the queue's sort key."
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.REVIEW)
    # The facility's audit share when the image was drawn (the record of the random choice:
    # the draw itself is a function of the image id, inspection/learning/sampling.py).
    audit_share = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["facility", "status", "min_confidence", "created_at"])]

    def __str__(self) -> str:
        return f"review {self.image_id} ({self.status})"

    # Leases: a claimed task whose lease has passed is claimable again; nothing has to reset it.
    # Every change is a conditional UPDATE that succeeds for one caller only.

    @classmethod
    def claimable(cls, now: datetime) -> Q:
        return Q(status=cls.Status.OPEN) | Q(status=cls.Status.CLAIMED, lease_expires_at__lte=now)

    def held_by(self, user: object, now: datetime) -> bool:
        return (
            self.status == self.Status.CLAIMED
            and self.claimed_by_id == getattr(user, "pk", None)
            and self.lease_expires_at is not None
            and self.lease_expires_at > now
        )

    def claim(self, user: object, now: datetime, seconds: int) -> bool:
        """Take the task if it is open or its lease has expired."""
        fields = {
            "status": self.Status.CLAIMED,
            "claimed_by": user,
            "claimed_at": now,
            "lease_expires_at": now + timedelta(seconds=seconds),
        }
        return self._update(self.claimable(now), fields)

    def renew(self, user: object, now: datetime, seconds: int) -> bool:
        """Extend the caller's lease. A lease that ran out still renews while nobody else has
        claimed the task in between."""
        return self._update(
            self._mine(user), {"lease_expires_at": now + timedelta(seconds=seconds)}
        )

    def release(self, user: object) -> bool:
        fields = {"status": self.Status.OPEN, "claimed_by": None, "lease_expires_at": None}
        return self._update(self._mine(user), fields)

    def complete(self, user: object, now: datetime) -> bool:
        fields = {"status": self.Status.DONE, "completed_at": now, "lease_expires_at": None}
        return self._update(self._mine(user), fields)

    def _mine(self, user: object) -> Q:
        return Q(status=self.Status.CLAIMED, claimed_by=user)

    def _update(self, condition: Q, fields: Mapping[str, object]) -> bool:
        return conditional_update(self, condition, fields)


class AuditRowImmutable(Exception):
    """Raised on any attempt to change or delete a review decision."""


class AppendOnlyQuerySet(models.QuerySet["ReviewDecision"]):
    def update(self, **kwargs: object) -> int:
        raise AuditRowImmutable("Review decisions are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditRowImmutable("Review decisions are append-only.")

    def effective(self) -> AppendOnlyQuerySet:
        """Decisions that stand: neither an undo row nor a decision that was undone."""
        return self.exclude(action="undo").filter(undone_by__isnull=True)


class ReviewDecision(models.Model):
    """The audit trail of review: one row per human decision, append-only (never updated or
    deleted: `save()` refuses existing rows, the queryset refuses `update()`/`delete()`, the
    admin is read-only, and images and users it names are protected from deletion).

    `before` and `after` are `{"status": ..., "boxes": [{"class_id", "class_name",
    "confidence", "box": [x1, y1, x2, y2]}, ...]}` in original pixels; `changed` says the
    reviewer changed the model's answer (boxes or classes; a reject is not counted as a
    change), `changed_classes` which classes it touched (override rate per class)."""

    class Action(models.TextChoices):
        ACCEPT = "accept"  # the model's boxes, as they were
        CORRECT = "correct"  # fixed, then accepted
        REJECT = "reject"
        # Takes back the decision named by `undoes` (its reviewer, within a short window): the
        # image waits for review again. Both rows stay; neither counts as a decision in stats.
        UNDO = "undo"

    task = models.ForeignKey(ReviewTask, on_delete=models.PROTECT, related_name="decisions")
    image = models.ForeignKey(Image, on_delete=models.PROTECT, related_name="review_decisions")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_decisions"
    )
    decided_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    verdict = models.CharField(max_length=16, choices=Image.Verdict.choices, blank=True)
    reason = models.CharField(max_length=64, blank=True, help_text="Reject reason code.")
    comment = models.TextField(blank=True, max_length=2000)
    before = models.JSONField()
    after = models.JSONField()
    changed = models.BooleanField(default=False)
    changed_classes = models.JSONField(default=list, blank=True)
    seconds_spent = models.FloatField(null=True, blank=True, help_text="From claim to decision.")
    # An undo row names the decision it takes back; one-to-one, so a decision is undone once.
    undoes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="undone_by"
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-decided_at", "-pk"]
        indexes = [models.Index(fields=["facility", "decided_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.image_id} by {self.decided_by_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise AuditRowImmutable("Review decisions are append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AuditRowImmutable("Review decisions are append-only.")


class ReplayRequestQuerySet(models.QuerySet["ReplayRequest"]):
    def update(self, **kwargs: object) -> int:
        raise AuditRowImmutable("Replay requests are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditRowImmutable("Replay requests are append-only.")


class ReplayRequest(models.Model):
    """The audit trail of replays (inspection/dead_letters/): one row per request to send
    failed images through the pipeline again, append-only like ReviewDecision. It says who asked
    (a user, an API key or a command), when, for what scope (one image, one batch, or every
    failed image of a reason, optionally at one facility), against which model version (null:
    each facility's active one), and what came of it. The scope's image and batch are plain ids,
    not keys: the audit outlives them. A repeated request with the same idempotency key (per
    caller) finds this row and replays nothing."""

    class Scope(models.TextChoices):
        IMAGE = "image"
        BATCH = "batch"
        REASON = "reason"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    author = models.CharField(max_length=200, help_text="Who asked, in words.")
    # Whose idempotency keys this row's key is among (`user:<id>`, `key:<id>`, `command`).
    caller = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of the scope and model.")
    scope = models.CharField(max_length=8, choices=Scope.choices)
    image_id = models.UUIDField(null=True, blank=True)
    batch_id = models.UUIDField(null=True, blank=True)
    reason = models.CharField(max_length=64, blank=True)
    facility = models.ForeignKey(
        Facility, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    replayed = models.PositiveIntegerField(default=0, help_text="Images queued again.")
    # Images the request named that were left alone, and reported: not failed any more
    # (replayed meanwhile, or never failed), or refused at upload (nothing stored to replay).
    skipped_ids = models.JSONField(default=list, blank=True)

    objects = ReplayRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["caller", "idempotency_key"], name="uniq_replay_idempotency_key"
            )
        ]

    def __str__(self) -> str:
        return f"replay {self.scope} by {self.author}: {self.replayed} image(s)"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise AuditRowImmutable("Replay requests are append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AuditRowImmutable("Replay requests are append-only.")


class ExportJob(models.Model):
    """A download of reviewed images and their final labels for one facility and date range
    (by review date, inclusive). Built inline when small, by a Celery task when large."""

    class Format(models.TextChoices):
        YOLO = "yolo", "YOLO (zip)"
        COCO = "coco", "COCO JSON"
        LABEL_STUDIO = "labelstudio", "Label Studio JSON"

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    format = models.CharField(max_length=16, choices=Format.choices)
    date_from = models.DateField()
    date_to = models.DateField()
    # Where the exported image links point (Label Studio needs absolute URLs): the site the export
    # was requested from, unless EXPORT_IMAGE_BASE_URL names one.
    image_base_url = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    image_count = models.PositiveIntegerField(default=0)
    file_key = models.CharField(max_length=300, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When a builder took it: a job running for longer than the build's hard time limit lost its
    # worker (see review/export_sweep.py).
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # How often, and when last, the sweep re-sent a pending job's message.
    resends = models.PositiveSmallIntegerField(default=0)
    resent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.format} export {self.facility_id} {self.date_from}..{self.date_to}"

    @property
    def file_name(self) -> str:
        extension = "zip" if self.format == self.Format.YOLO else "json"
        return f"{self.format}-{self.date_from}-{self.date_to}.{extension}"

    def resend_due(self, now: datetime, interval: timedelta) -> bool:
        """Each re-send waits twice as long as the one before (up to RESEND_MAX_WAITS
        intervals): a backlog delays a message rather than losing it, and a copy every sweep
        would only lengthen the queue."""
        waits = min(2**self.resends, RESEND_MAX_WAITS)
        return now - (self.resent_at or self.created_at) >= interval * waits

    def mark_resent(self, now: datetime) -> bool:
        """Count a re-send, once per due moment (of two sweeps at once, one sends)."""
        condition = Q(status=self.Status.PENDING, resends=self.resends)
        return conditional_update(self, condition, {"resends": self.resends + 1, "resent_at": now})

    def start(self) -> bool:
        """Pending -> running, once (a repeated Celery message finds it taken)."""
        fields = {"status": self.Status.RUNNING, "started_at": timezone.now()}
        return self._update(self.Status.PENDING, fields)

    def finish(self, file_key: str, image_count: int) -> bool:
        fields = {
            "status": self.Status.DONE,
            "file_key": file_key,
            "image_count": image_count,
            "finished_at": timezone.now(),
        }
        return self._update(self.Status.RUNNING, fields)

    def fail(self, error: str) -> bool:
        fields = {"status": self.Status.FAILED, "error": error[:500], "finished_at": timezone.now()}
        return self._update(self.Status.RUNNING, fields)

    def _update(self, expected: str, fields: Mapping[str, object]) -> bool:
        return conditional_update(self, Q(status=expected), fields)


class StageTurn(models.Model):
    """When a stage last took an image of a facility. The next claim at a stage goes to the
    facility whose turn is oldest (never served first): round robin across facilities, so one
    facility's large batch never holds another's small one (see pipeline/fairness.py)."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=16)
    served_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["facility", "stage"], name="uniq_stage_turn")
        ]

    def __str__(self) -> str:
        return f"{self.stage} {self.facility_id} @ {self.served_at}"


class DriftMeasure(models.Model):
    """The last drift check of a class (inspection/learning/drift.py): the population stability
    index of its recent confidences against the reference window of the active thresholds, per
    facility and camera (null: all cameras). Read by /metrics; one row per key, overwritten."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="+")
    camera = models.CharField(max_length=100, null=True, blank=True)
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    class_name = models.CharField(max_length=100)
    psi = models.FloatField(null=True, blank=True, help_text="None: too few boxes to compare.")
    recent_boxes = models.PositiveIntegerField()
    reference_boxes = models.PositiveIntegerField()
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "camera", "model_version", "class_name"],
                name="uniq_drift_measure",
                nulls_distinct=False,
            )
        ]


class DriftAlert(models.Model):
    """A class of a facility's active model that drifted (its confidences moved away from the
    window its thresholds were set on) or whose measured precision bound fell below the promise.
    Open until an admin acknowledges it; at most one per facility, camera, model, class, kind and
    threshold version, so an acknowledged alert stays quiet until new thresholds are set."""

    class Kind(models.TextChoices):
        DRIFT = "drift"
        PRECISION = "precision"

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="drift_alerts")
    camera = models.CharField(max_length=100, null=True, blank=True)
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    class_name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The threshold version whose reference window (drift) or promise (precision) was checked;
    # null: the model's registration thresholds.
    policy = models.ForeignKey(
        ThresholdPolicy, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    statistic = models.FloatField(help_text="PSI (drift) or the 95 % lower bound (precision).")
    cutoff = models.FloatField(help_text="PSI above it, or a bound below it, fires.")
    detail = models.CharField(max_length=300, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    # The audit of an acknowledgement: who (a user on the thresholds page, or an API key) and when.
    acknowledged_by = models.CharField(max_length=200, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "camera", "model_version", "class_name", "kind", "policy"],
                name="uniq_drift_alert",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        where = f"{self.facility_id}/{self.camera}" if self.camera is not None else self.facility_id
        return f"{self.kind} {self.class_name} @ {where}"

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None

    def acknowledge(self, author: str) -> bool:
        """Only the first acknowledgement counts (a second one changes nothing)."""
        fields = {"acknowledged_by": author[:200], "acknowledged_at": timezone.now()}
        return conditional_update(self, Q(acknowledged_at__isnull=True), fields)


# The analytics page's hourly rollups live with their readers; imported here so they belong to
# this app (migrations, admin checks).
from inspection.analytics.models import (  # noqa: E402, F401
    ConfidenceHour,
    LatencyHour,
    OverrideHour,
    RolledUpHour,
)
