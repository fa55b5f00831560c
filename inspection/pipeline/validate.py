"""Stage 3: apply the threshold policy, route the image, complete the batch."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from inspection import storage
from inspection.learning import sampling
from inspection.learning.drift_routing import Watch, watch_for
from inspection.models import Detection, Image, ReviewTask
from inspection.observability import hooks
from inspection.pipeline import claims
from inspection.pipeline.claims import VALIDATE, Claim
from inspection.pipeline.completion import complete_batch_if_done
from inspection.pipeline.policies import AppliedPolicy, policy_for
from inspection.pipeline.steps import claim_log, per_image, run_batch
from inspection.validation import (
    ACCEPTED,
    NEEDS_REVIEW,
    Candidate,
    Decision,
    decide,
    lowest_confidence,
)


def validate_image(image_id: Any) -> int:
    """Validate the next batch; returns how many images it routed."""
    return run_batch(VALIDATE, image_id, _validate_batch, error_reason="validation_error")


@dataclass(frozen=True)
class Routed:
    claim: Claim
    image: Image
    detections: list[Detection]
    decision: Decision
    low: float | None
    applied: AppliedPolicy


def _validate_batch(batch: list[Claim]) -> int:
    ids = [claim.image_id for claim in batch]
    # The facility for its audit share and drift opt-in, the batch for its camera.
    images = Image.objects.select_related("facility", "batch").in_bulk(ids)
    found: dict[Any, list[Detection]] = defaultdict(list)
    # The active model's boxes only: a shadow's are never routed (pipeline/shadow.py).
    model_boxes = Detection.objects.filter(image_id__in=ids, source=Detection.Source.MODEL)
    for detection in model_boxes:  # most confident first
        found[detection.image_id].append(detection)
    policies = _policies({(image.facility_id, image.model_version_id) for image in images.values()})
    watch = watch_for(images.values())
    routed = [
        result
        for claim in batch
        if (
            result := per_image(
                claim,
                partial(
                    _route, claim, images[claim.image_id], found[claim.image_id], policies, watch
                ),
                "validation_error",
            )
        )
        is not None
    ]
    stored = _store(routed)
    for item in stored:
        claim_log(item.claim).info("validated: %s %s", item.decision.status, item.decision.reasons)
        hooks.image_finished(item.image.facility_id, item.decision.status)
        kept = [item.detections[i] for i in item.decision.kept]
        hooks.detections_kept(item.image.facility_id, ((d.class_name, _score(d)) for d in kept))
    for batch_id in {item.image.batch_id for item in stored}:
        complete_batch_if_done(batch_id)
    return len(stored)


def _score(detection: Detection) -> float:
    """The model's confidence: every box at validation is the model's (only a reviewer's drawn
    boxes have none, and they come later)."""
    assert detection.confidence is not None, detection.pk
    return detection.confidence


def _policies(pairs: set[tuple[Any, Any]]) -> dict[tuple[Any, Any], AppliedPolicy]:
    """The policy of each (facility, model) of the batch, looked up once."""
    return {pair: policy_for(*pair) for pair in pairs}


def _route(
    claim: Claim,
    image: Image,
    detections: list[Detection],
    policies: dict[tuple[Any, Any], AppliedPolicy],
    watch: Watch,
) -> Routed:
    candidates = [Candidate(d.class_name, _score(d)) for d in detections]
    applied = policies[(image.facility_id, image.model_version_id)]
    watched = watch.classes(image.facility_id, image.model_version_id, image.batch.camera)
    decision = decide(candidates, image.quality_flags, applied.rules, watched)
    return Routed(
        claim, image, detections, decision, lowest_confidence(candidates, decision), applied
    )


def _store(routed: list[Routed]) -> list[Routed]:
    """Everything in one transaction, for the images whose claims still hold; returns those."""
    now = timezone.now()
    with transaction.atomic():
        held = {claim.image_id for claim in claims.still_held([r.claim for r in routed])}
        kept = [item for item in routed if item.image.id in held]
        _apply_to_detections(kept)
        _open_review_tasks(
            [item for item in kept if item.decision.status == NEEDS_REVIEW],
            [item for item in kept if _audited(item)],
        )
        claims.finish_many(
            [item.claim for item in kept],
            None,
            {item.image.id: _result_fields(item, now) for item in kept},
        )
        keys = [item.image.preprocessed_key for item in kept]
        transaction.on_commit(partial(_delete_arrays, keys))
    return kept


def _result_fields(item: Routed, now: Any) -> dict[str, Any]:
    timings = {
        **item.claim.timings,
        "validate_ms": _ms(now - item.claim.claimed_at),
        "total_ms": _ms(now - item.image.created_at),
    }
    return {
        "status": item.decision.status,
        "review_reasons": item.decision.reasons,
        "finished_at": now,
        "timings": timings,
        "policy_id": item.applied.policy_id,
        "threshold_source": item.applied.source,
    }


def _delete_arrays(keys: list[str]) -> None:
    for key in keys:
        storage.delete(key)


def _apply_to_detections(routed: list[Routed]) -> None:
    """Drop the noise of every image, and mark what each kept as accepted or not."""
    dropped = [item.detections[i].id for item in routed for i in item.decision.dropped]
    if dropped:
        Detection.objects.filter(id__in=dropped).delete()
    kept = []
    for item in routed:
        for index in item.decision.kept:
            detection = item.detections[index]
            detection.accepted = item.decision.accepted[index]
            kept.append(detection)
    if kept:
        Detection.objects.bulk_update(kept, ["accepted"])


def _audited(item: Routed) -> bool:
    """An auto-accepted image drawn for audit at its facility's share (the draw depends on the
    image id only, so a rerun draws the same)."""
    share = item.image.facility.audit_share
    return item.decision.status == ACCEPTED and sampling.chosen(item.image.id, share)


def _open_review_tasks(routed: list[Routed], audited: list[Routed]) -> None:
    """One task per image (OneToOne): a rerun keeps the one it made before. An audit task has
    no reasons (the reviewer is not told it is an audit: docs/learning.md) and sorts by its
    lowest confidence like any task."""
    tasks = [
        ReviewTask(
            image=item.image,
            facility_id=item.image.facility_id,
            reasons=item.decision.reasons,
            min_confidence=item.low,
        )
        for item in routed
    ] + [
        ReviewTask(
            image=item.image,
            facility_id=item.image.facility_id,
            reasons=[],
            min_confidence=item.low,
            kind=ReviewTask.Kind.AUDIT,
            audit_share=item.image.facility.audit_share,
        )
        for item in audited
    ]
    if tasks:
        ReviewTask.objects.bulk_create(tasks, ignore_conflicts=True)


def _ms(delta: Any) -> float:
    return round(delta.total_seconds() * 1000, 1)
