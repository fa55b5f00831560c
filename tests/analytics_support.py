"""Builders for the analytics tests: images of a facility at chosen times, cameras, outcomes,
timings and model boxes; review tasks and decisions; and the scope a chart is asked for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from inspection.analytics.scope import Scope
from inspection.analytics.window import Window
from inspection.models import (
    Batch,
    Detection,
    Facility,
    Image,
    ModelVersion,
    ReviewDecision,
    ReviewTask,
)
from inspection.review.boxes import Box, snapshot

HOUR = timedelta(hours=1)


def hours_ago(hours: float, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(hours=hours)


def scope_of(
    *facilities: Facility,
    period: str = "24h",
    camera: str | None = None,
    until: datetime | None = None,
) -> Scope:
    """The scope a chart is asked for (facilities re-read with their active model)."""
    rows = Facility.objects.filter(pk__in=[f.pk for f in facilities]).select_related("active_model")
    return Scope(
        list(rows.order_by("slug")),
        Window.of(period, until or timezone.now()),
        camera,
        until is None,
    )


@dataclass
class Site:
    """One facility and the model its images ran through."""

    facility: Facility
    model: ModelVersion

    @classmethod
    def of(cls, facility: Facility) -> Site:
        facility.refresh_from_db()
        assert facility.active_model is not None
        return cls(facility, facility.active_model)

    def image(
        self,
        created: datetime,
        status: str = Image.Status.ACCEPTED,
        camera: str = "dock-1",
        total_ms: float | None = 400.0,
        queue_wait_ms: float | None = 100.0,
        reason: str = "",
        boxes: tuple[tuple[str, float], ...] = (),
        finished: datetime | None = None,
        model: ModelVersion | None = None,
    ) -> Image:
        """An image submitted at `created`; decided `total_ms` later unless still in flight."""
        batch = Batch.objects.create(
            facility=self.facility, camera=camera, total=1, created_at=created
        )
        timings: dict[str, Any] = {}
        if total_ms is not None:
            timings["total_ms"] = total_ms
        if queue_wait_ms is not None:
            timings["queue_wait_ms"] = queue_wait_ms
        terminal = status in Image.TERMINAL
        if finished is None and terminal:
            finished = created + timedelta(milliseconds=total_ms or 0)
        image = Image.objects.create(
            batch=batch,
            facility=self.facility,
            position=0,
            status=status,
            reason=reason,
            timings=timings,
            created_at=created,
            finished_at=finished,
            model_version=model or self.model,
        )
        for name, confidence in boxes:
            self.box(image, name, confidence, model or self.model)
        return image

    def box(self, image: Image, name: str, confidence: float, model: ModelVersion) -> Detection:
        class_id = model.class_names.index(name) if name in model.class_names else 0
        return Detection.objects.create(
            image=image, model_version=model, class_id=class_id, class_name=name,
            confidence=confidence, x1=10, y1=10, x2=60, y2=60, accepted=True,
        )  # fmt: skip

    def task(
        self, image: Image, created: datetime, completed: datetime | None = None
    ) -> ReviewTask:
        status = ReviewTask.Status.DONE if completed else ReviewTask.Status.OPEN
        return ReviewTask.objects.create(
            image=image, facility=self.facility, status=status, created_at=created,
            completed_at=completed, reasons=["low_confidence:label"],
        )  # fmt: skip


def reviewer(name: str = "rev") -> Any:
    user, _ = get_user_model().objects.get_or_create(username=name)
    return user


def decide(
    task: ReviewTask,
    at: datetime,
    action: str = ReviewDecision.Action.ACCEPT,
    before: tuple[str, ...] = ("parcel",),
    after: tuple[str, ...] | None = None,
    undoes: ReviewDecision | None = None,
) -> ReviewDecision:
    """A decision on `task` at `at`: the model's boxes of `before` classes, the reviewer's of
    `after` (the same when left out); the classes that differ are the changed ones."""
    after = before if after is None else after
    changed = sorted(set(before) ^ set(after)) if action != ReviewDecision.Action.REJECT else []
    verdict = "rejected" if action == ReviewDecision.Action.REJECT else "accepted"
    if action == ReviewDecision.Action.UNDO:
        verdict, changed = "", []
    return ReviewDecision.objects.create(
        task=task, image=task.image, facility=task.facility, decided_by=reviewer(),
        decided_at=at, action=action, verdict=verdict,
        before=snapshot("needs_review", [_box(name) for name in before]),
        after=snapshot(verdict or "needs_review", [_box(name) for name in after]),
        changed=bool(changed), changed_classes=changed, undoes=undoes,
    )  # fmt: skip


def _box(name: str) -> Box:
    return Box(0, name, 10.0, 10.0, 60.0, 60.0, 0.5)
