"""Stage 3: apply the threshold policy, route the image, complete the batch."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from inspection import storage
from inspection.models import Detection, Image, ReviewTask
from inspection.observability import hooks
from inspection.pipeline import claims
from inspection.pipeline.claims import VALIDATE, Claim
from inspection.pipeline.completion import complete_batch_if_done
from inspection.pipeline.logs import ImageLog
from inspection.pipeline.policies import AppliedPolicy, policy_for
from inspection.pipeline.steps import run_stage
from inspection.validation import NEEDS_REVIEW, Candidate, Decision, decide, lowest_confidence


def validate_image(image_id: Any) -> bool:
    return run_stage(VALIDATE, image_id, _validate, error_reason="validation_error")


def _validate(claim: Claim, log: ImageLog) -> None:
    image = Image.objects.get(id=claim.image_id)
    detections = list(image.detections.all())
    candidates = [Candidate(d.class_name, d.confidence) for d in detections]
    applied = policy_for(image.facility_id, image.model_version_id)
    decision = decide(candidates, image.quality_flags, applied.rules)
    low = lowest_confidence(candidates, decision)
    if _store(claim, image, detections, decision, low, applied):
        log.info("validated: %s %s", decision.status, decision.reasons)
        hooks.image_finished(image.facility_id, decision.status)
        kept = [detections[i] for i in decision.kept]
        hooks.detections_kept(image.facility_id, ((d.class_name, d.confidence) for d in kept))
        complete_batch_if_done(image.batch_id)


def _store(
    claim: Claim,
    image: Image,
    detections: list[Detection],
    decision: Decision,
    low: float | None,
    applied: AppliedPolicy,
) -> bool:
    """Everything in one transaction, kept only if the claim still holds at the end."""
    now = timezone.now()
    with transaction.atomic():
        _apply_to_detections(detections, decision)
        if decision.status == NEEDS_REVIEW:
            _open_review_task(image, decision.reasons, low)
        timings = {
            **claim.timings,
            "validate_ms": _ms(now - claim.claimed_at),
            "total_ms": _ms(now - image.created_at),
        }
        if not claims.finish(
            claim,
            decision.status,
            review_reasons=decision.reasons,
            finished_at=now,
            timings=timings,
            policy_id=applied.policy_id,
            threshold_source=applied.source,
        ):
            transaction.set_rollback(True)
            return False
        transaction.on_commit(partial(storage.delete, image.preprocessed_key))
    return True


def _apply_to_detections(detections: list[Detection], decision: Decision) -> None:
    Detection.objects.filter(id__in=[detections[i].id for i in decision.dropped]).delete()
    kept = [detections[i] for i in decision.kept]
    for index, detection in zip(decision.kept, kept, strict=True):
        detection.accepted = decision.accepted[index]
    Detection.objects.bulk_update(kept, ["accepted"])


def _open_review_task(image: Image, reasons: list[str], low: float | None) -> None:
    """One review task per image (OneToOne): a rerun finds the one it made before."""
    ReviewTask.objects.get_or_create(
        image=image,
        defaults={"facility_id": image.facility_id, "reasons": reasons, "min_confidence": low},
    )


def _ms(delta: Any) -> float:
    return round(delta.total_seconds() * 1000, 1)
