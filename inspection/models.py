"""Domain models: facilities, API keys, model versions, threshold policies, batches, images,
detections and review tasks. One-row state changes live here as methods; workflows that span
models live in services."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Facility(models.Model):
    """A distribution center: the unit of tenancy. Every query is scoped to facilities."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    active_model = models.ForeignKey(
        "ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="FacilityMembership", related_name="facilities"
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
        return cls(name=name, prefix=prefix, key_hash=cls.hash_key(raw)), raw

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


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
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="uniq_model_version")
        ]

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"


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
    note = models.CharField(max_length=200, blank=True)
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
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

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


class Image(models.Model):
    """One uploaded image and its way through preprocess -> infer -> validate."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        PREPROCESSING = "preprocessing"
        PREPROCESSED = "preprocessed"
        INFERRING = "inferring"
        INFERRED = "inferred"
        VALIDATING = "validating"
        ACCEPTED = "accepted"
        NEEDS_REVIEW = "needs_review"
        FAILED = "failed"

    TERMINAL = (Status.ACCEPTED, Status.NEEDS_REVIEW, Status.FAILED)
    # Waiting for a worker: the sweeper re-enqueues these when they wait too long.
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
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    # Preprocessing output: a resized, oriented 8-bit BGR array and its scale to the original.
    preprocessed_key = models.CharField(max_length=300, blank=True)
    scale = models.FloatField(null=True, blank=True)
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["batch", "position"]
        indexes = [
            models.Index(fields=["batch", "status"]),
            models.Index(fields=["status", "updated_at"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["batch", "position"], name="uniq_image_position")
        ]

    def __str__(self) -> str:
        return f"{self.original_name or self.id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL


class Detection(models.Model):
    """One box predicted by a model, in original-image pixels (after EXIF orientation)."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="detections")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT)
    class_id = models.PositiveIntegerField()
    class_name = models.CharField(max_length=100)
    confidence = models.FloatField()
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


class ReviewTask(models.Model):
    """An image that needs a human verdict, with the reasons it was routed to review."""

    class Status(models.TextChoices):
        OPEN = "open"
        CLAIMED = "claimed"
        DONE = "done"

    image = models.OneToOneField(Image, on_delete=models.CASCADE, related_name="review_task")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="review_tasks")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    reasons = models.JSONField(default=list)
    min_confidence = models.FloatField(
        null=True, blank=True, help_text="Lowest detection confidence: the queue's sort key."
    )
    created_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["facility", "status", "min_confidence", "created_at"])]

    def __str__(self) -> str:
        return f"review {self.image_id} ({self.status})"
