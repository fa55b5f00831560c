"""An image's statuses, on their own so that modules loaded before Django's apps (the Celery
configuration, the stage definitions) can name them."""

from __future__ import annotations

from django.db import models


class ImageStatus(models.TextChoices):
    QUEUED = "queued"
    PREPROCESSING = "preprocessing"
    PREPROCESSED = "preprocessed"
    INFERRING = "inferring"
    INFERRED = "inferred"
    VALIDATING = "validating"
    ACCEPTED = "accepted"
    NEEDS_REVIEW = "needs_review"
    FAILED = "failed"
    # Only a reviewer rejects: the image is unusable or not what the model says it is.
    REJECTED = "rejected"
