"""The learning loop up to the candidate, end to end through real processes: the bundled sample
photos are submitted over REST and run by real workers with the default model; reviewers decide
the uncertain ones and audit the accepted ones (some accepted as they were, some corrected, some
rejected); `retrain_from_verdicts` then trains on exactly the images with a standing verdict and
registers an inactive candidate. The shadow, compare and promote steps of the issue's loop come
after this one (inspection.learning.shadow)."""

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

from inspection.models import Facility, Image, ModelVersion, ReviewTask
from inspection.review import leases
from inspection.review.boxes import Box
from inspection.review.decisions import DecisionRequest, decide
from tests.api_support import submit, upload
from tests.test_e2e_pipeline import report, start_pipeline, wait_for_batches, workers_for
from tests.workers import WorkerSet

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
    """Decide every task; the ids of the images whose verdict leaves them labelled."""
    labelled = set()
    for n in range(ReviewTask.objects.count()):
        task = leases.claim_next(reviewer)
        assert task is not None
        request = verdict(task, n)
        decide(task, reviewer, request)
        if request.verdict == "accepted":
            labelled.add(str(task.image_id))
    assert leases.claim_next(reviewer) is None
    return labelled


def test_submitted_reviewed_and_audited_samples_retrain_into_a_candidate(
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
        stdout=out,
    )  # fmt: skip
    record = json.loads((work / "model.retrain.json").read_text())
    trained_on = set(record["split_image_ids"]["train"] + record["split_image_ids"]["val"])
    assert trained_on == labelled
    confirmed = Image.objects.filter(pk__in=labelled, verdict="")
    assert confirmed.exists()  # audits that kept the model's boxes are among them
    candidate = ModelVersion.objects.get(pk=record["model"]["id"])
    facility.refresh_from_db()
    assert facility.active_model_id == base.pk != candidate.pk
    assert candidate.threshold_source == "calibrated"
    assert f"(id {candidate.pk})" in out.getvalue()
    tasks = ReviewTask.objects.values_list("kind", flat=True)
    report(
        capsys,
        f"retrain loop: {tasks.filter(kind='review').count()} reviewed, "
        f"{tasks.filter(kind='audit').count()} audited, {len(labelled)} labelled "
        f"({confirmed.count()} confirmed audits); {out.getvalue().strip()}",
    )
