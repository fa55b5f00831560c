"""The JSON body of a delivery, the same shape for every event: the batch as the REST detail
shows it when the attempt is made (id, facility, status, counts, completed_at), how many of its
images still wait for a reviewer, and where to fetch its results.

`review_pending` tells an integrator whether the results are final: above zero, reviewers will
still change them, and a `batch.reviewed` delivery follows once they have decided the last one.
`batch.reviewed` says 0: its counts and results are the reviewed ones (unless an operator has
since replayed failed images through the pipeline: each event is still sent once per URL).

`result.corrected` (an audit of an auto-accepted image changed its result: inspection/learning/)
adds `image_id`, the image whose result changed; the rest is the batch as it stands then."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from inspection import selectors
from inspection.models import Batch, WebhookDelivery


def body_of(delivery: WebhookDelivery) -> bytes:
    """Compact, key-sorted JSON: the exact bytes that are signed and sent."""
    return json.dumps(payload_of(delivery), separators=(",", ":"), sort_keys=True).encode()


def payload_of(delivery: WebhookDelivery) -> dict[str, Any]:
    batch = batch_with_counts(delivery.batch_id)
    counts = selectors.counts_of(batch)
    body: dict[str, Any] = {
        "event": delivery.event,
        "delivery_id": str(delivery.id),
        "batch_id": str(batch.id),
        "facility": batch.facility.slug,
        "status": batch.status,
        "counts": asdict(counts),
        "completed_at": iso(batch.completed_at),
        "review_pending": counts.needs_review,
        "results_url": results_url(batch.id),
    }
    if delivery.image_id is not None:
        body["image_id"] = str(delivery.image_id)
    return body


def batch_with_counts(batch_id: Any) -> Batch:
    return (
        Batch.objects.select_related("facility").annotate(**selectors.BATCH_COUNTS).get(pk=batch_id)
    )


def results_url(batch_id: Any) -> str:
    path = reverse("api:batch-results-json", kwargs={"batch_id": batch_id})
    return settings.WEBHOOK_PUBLIC_BASE_URL.rstrip("/") + path


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with `Z` for UTC, as the REST API writes datetimes."""
    return value.isoformat().replace("+00:00", "Z") if value else None
