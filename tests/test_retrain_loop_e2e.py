"""The learning loop end to end through real processes: the bundled sample photos are submitted
over REST and run by real workers with the default model; reviewers decide the uncertain ones
and audit the accepted ones (some accepted as they were, some corrected, some rejected);
`retrain_from_verdicts --shadow` trains on exactly the images with a standing verdict, registers
an inactive candidate and sets it as the facility's shadow; the samples submitted again run
through both models (the shadow's boxes stored apart, the results the active model's), new
verdicts score both in the comparison, and the candidate is promoted: it routes the next
images, with its calibrated thresholds as a new policy version."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from inspection.learning.shadow import comparison
from inspection.models import (
    Detection,
    Facility,
    Image,
    ModelChange,
    ModelVersion,
    ReviewTask,
    ShadowRun,
)
from inspection.review import leases
from inspection.review.boxes import Box
from inspection.review.decisions import DecisionRequest, decide
from inspection.services import shadow
from inspection.services.policies import active_policy
from tests.api_support import submit, upload
from tests.test_e2e_pipeline import report, start_pipeline, wait_for_batches, workers_for
from tests.workers import WorkerSet, wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.training,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("keep_torch_threads"),
]

SAMPLES = sorted((Path(django_settings.BASE_DIR) / "samples" / "demo").glob("*.jpg"))


@pytest.fixture
def workers(
    tmp_path: Path, media_root: Path, facility: Facility, redis_queues: redis.Redis
) -> Iterator[WorkerSet]:
    group = workers_for(tmp_path, media_root)
    try:
        yield group
    finally:
        group.stop_all()


def verdict(task: ReviewTask, n: int) -> DecisionRequest:
    """Every fourth task corrected (the model's boxes replaced by one parcel over the middle),
    every fifth rejected, the rest accepted as the model drew them."""
    image = task.image
    if n % 5 == 4:
        return DecisionRequest("rejected", reason="unusable_image")
    if n % 4 == 3:
        w, h = float(image.width or 0), float(image.height or 0)
        return DecisionRequest("accepted", [Box(0, "parcel", w / 4, h / 4, w * 3 / 4, h * 3 / 4)])
    return DecisionRequest("accepted")


def decide_all(reviewer: Any) -> set[str]:
    """Decide every open task; the ids of the images whose verdict leaves them labelled."""
    labelled = set()
    for n in range(ReviewTask.objects.filter(completed_at__isnull=True).count()):
        task = leases.claim_next(reviewer)
        assert task is not None
        request = verdict(task, n)
        decide(task, reviewer, request)
        if request.verdict == "accepted":
            labelled.add(str(task.image_id))
    assert leases.claim_next(reviewer) is None
    return labelled


def test_verdicts_retrain_a_candidate_that_runs_as_shadow_and_is_promoted(
    workers: WorkerSet,
    api_client: Any,
    facility: Facility,
    reviewer: Any,
    tmp_path: Path,
    settings: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings.INFERENCE_EXPORT_DIR = tmp_path / "exports"
    Facility.objects.filter(pk=facility.pk).update(audit_share=1.0)  # audit every accepted one
    base = facility.active_model
    assert base is not None
    start_pipeline(workers)
    response = submit(api_client, [upload(p.name, p.read_bytes()) for p in SAMPLES])
    assert response.status_code == 202, response.content
    wait_for_batches(response.json()["id"])
    kinds = set(ReviewTask.objects.values_list("kind", flat=True))
    assert kinds == {"review", "audit"}  # both paths to a verdict are exercised
    labelled = decide_all(reviewer)

    out = io.StringIO()
    work = tmp_path / "retrain"
    since = timezone.localdate().isoformat()
    call_command(
        "retrain_from_verdicts", "--facility", "dc-north", "--since", since, "--epochs", "1",
        "--imgsz", "64", "--batch", "4", "--min-images", "4", "--work-dir", str(work),
        "--shadow", stdout=out,
    )  # fmt: skip
    record = json.loads((work / "model.retrain.json").read_text())
    trained_on = set(record["split_image_ids"]["train"] + record["split_image_ids"]["val"])
    assert trained_on == labelled
    confirmed = Image.objects.filter(pk__in=labelled, verdict="")
    assert confirmed.exists()  # audits that kept the model's boxes are among them
    candidate = ModelVersion.objects.get(pk=record["model"]["id"])
    facility.refresh_from_db()
    assert facility.active_model_id == base.pk != candidate.pk
    assert facility.shadow_model_id == candidate.pk
    assert candidate.threshold_source == "calibrated"
    assert f"(id {candidate.pk})" in out.getvalue()
    reviewed_first = ReviewTask.objects.count()

    # Shadow: the inference worker's model watcher loads the candidate; the samples again.
    inference = workers.workers["inference"]
    assert wait_until(lambda: f"model loaded: {candidate}" in inference.log(), 60)
    again = submit(api_client, [upload(p.name, p.read_bytes()) for p in SAMPLES])
    assert again.status_code == 202, again.content
    wait_for_batches(again.json()["id"])
    second = Image.objects.filter(batch_id=again.json()["id"])
    decided = second.exclude(status="failed")  # the corrupt samples fail before any model
    assert {image.model_version_id for image in decided} == {base.pk}  # routed by the active
    assert ShadowRun.objects.filter(image__in=decided, model_version=candidate).count() == len(
        decided
    )
    shadow_boxes = Detection.objects.filter(image__in=second, source="shadow")
    assert set(shadow_boxes.values_list("model_version_id", flat=True)) <= {candidate.pk}
    labelled_again = decide_all(reviewer)

    # Compare: both models scored per class against the people's boxes of the second round.
    scores = comparison(facility)
    assert scores is not None and (scores.active, scores.shadow) == (base, candidate)
    assert scores.images == len(decided) and scores.judged_images >= len(labelled_again) > 0
    parcel = next(row for row in scores.classes if row.class_name == "parcel")
    assert parcel.human_boxes > 0 and parcel.active.precision.n > 0

    # Promote: the candidate routes the next image, under its calibrated thresholds.
    promotion = shadow.promote(facility, by="test")
    facility.refresh_from_db()
    assert facility.active_model_id == candidate.pk and facility.shadow_model_id is None
    assert promotion.previous_model_id == base.pk and promotion.action == "promote"
    policy = active_policy(facility, candidate)
    assert policy is not None and policy.source == "calibrated"
    assert policy.class_thresholds == candidate.class_thresholds
    third = submit(api_client, [upload(SAMPLES[0].name, SAMPLES[0].read_bytes())])
    wait_for_batches(third.json()["id"])
    [routed] = Image.objects.filter(batch_id=third.json()["id"])
    assert (routed.model_version_id, routed.policy_id) == (candidate.pk, policy.pk)
    actions = list(ModelChange.objects.filter(facility=facility).values_list("action", flat=True))
    assert actions == ["promote", "shadow_set"]  # newest first, both audited

    tasks = ReviewTask.objects.values_list("kind", flat=True)
    report(
        capsys,
        f"retrain loop: {reviewed_first} tasks decided, {len(labelled)} labelled "
        f"({confirmed.count()} confirmed audits); {out.getvalue().strip()}; second round "
        f"{len(decided)} images through both models, {shadow_boxes.count()} shadow boxes, "
        f"{ReviewTask.objects.count() - reviewed_first} more tasks decided; parcel precision "
        f"active {parcel.active.precision.value or 0:.2f} vs shadow "
        f"{parcel.shadow.precision.value or 0:.2f} "
        f"({tasks.filter(kind='audit').count()} audits in all); promoted: the next image routed "
        "by the candidate",
    )
