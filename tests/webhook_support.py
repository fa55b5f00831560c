"""Helpers shared by the webhook tests: keys with a webhook, completed batches (some with images
waiting for review, and their tasks), and a recorder for what the app would publish (with its
countdown)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inspection.models import ApiKey, Batch, Facility, Image, ReviewTask, WebhookDelivery
from inspection.pipeline.completion import complete_batch_if_done
from tests.api_support import make_batch
from tests.review_support import DEFAULT_BOXES, add_model_box

DONE = [Image.Status.ACCEPTED, Image.Status.NEEDS_REVIEW, Image.Status.FAILED]


def key_row(raw: str) -> ApiKey:
    return ApiKey.objects.get(prefix=raw.split(".", 1)[0])


def key_with_webhook(facility: Facility, url: str) -> ApiKey:
    key, _ = ApiKey.generate("hooked")
    key.webhook_url = url
    key.save()
    key.facilities.set([facility])
    return key


def finished_batch(key: ApiKey, facility: Facility, **fields: Any) -> Batch:
    """A processing batch whose images are all terminal: the next check completes it."""
    return make_batch(facility, DONE, api_key=key, **fields)


def completed_delivery(key: ApiKey, facility: Facility, **fields: Any) -> WebhookDelivery:
    batch = finished_batch(key, facility, **fields)
    assert complete_batch_if_done(batch.pk)
    return WebhookDelivery.objects.get(batch=batch)


def completed_in_review(key: ApiKey, facility: Facility, reviews: int) -> list[ReviewTask]:
    """A completed batch (its `batch.completed` delivery created) of one accepted image and
    `reviews` images left in review, each with the model's boxes and an open task."""
    statuses = [Image.Status.ACCEPTED] + [Image.Status.NEEDS_REVIEW] * reviews
    batch = make_batch(facility, statuses, api_key=key)
    assert complete_batch_if_done(batch.pk)
    return [open_task(image) for image in batch.images.filter(status=Image.Status.NEEDS_REVIEW)]


def open_task(image: Image) -> ReviewTask:
    for class_id, confidence, box in DEFAULT_BOXES:
        add_model_box(image, class_id, confidence, box)
    return ReviewTask.objects.create(image=image, facility=image.facility, reasons=["low"])


def deliveries_of(event: str) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(event=event))


@dataclass
class Sent:
    """Messages the app would have sent: (task name, args, options)."""

    calls: list[tuple[str, list[str], dict[str, Any]]] = field(default_factory=list)

    def send_task(self, name: str, args: list[str], **options: Any) -> None:
        self.calls.append((name, args, options))

    def deliveries(self) -> list[str]:
        return [args[0] for name, args, _ in self.calls if name == "inspection.deliver_webhook"]
