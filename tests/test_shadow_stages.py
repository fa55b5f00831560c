"""The shadow pass in the stage services, run directly: after inference the shadow's boxes are
stored apart (one ShadowRun per image), a re-run replaces them, validation neither routes by
them nor drops them, the API's result never shows them, and a shadow that fails leaves the
image as it would be without one (logged, counted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from inspection.inference import registry, runtime
from inspection.models import Detection, Facility, Image, ModelVersion, ShadowRun
from inspection.observability import metrics
from inspection.pipeline.infer import infer_image
from inspection.pipeline.validate import validate_image
from inspection.services import shadow
from tests.api_support import BATCHES_URL
from tests.shadow_support import add_shadow_boxes
from tests.test_pipeline_stages import expire_lease, run_to
from tests.workers import accepting_policy, add_image, empty_batch, photo_bytes, reload

pytestmark = [pytest.mark.slow, pytest.mark.django_db]  # two models load: over a second
Status = Image.Status
SHADOW = Detection.Source.SHADOW


@pytest.fixture
def candidate(facility: Facility, dev_model: ModelVersion, tmp_path: Path) -> ModelVersion:
    weights = registry.build_untrained_model(tmp_path / "candidate.pt", seed=5)
    model = registry.register_model(weights, "dev", "candidate", input_size=320)
    shadow.set_shadow(facility, model)
    return model


@pytest.fixture
def image(facility: Facility, dev_model: ModelVersion, media_root: Path) -> Image:
    return add_image(empty_batch(facility), photo_bytes(800, 450))


def test_the_shadows_boxes_are_stored_apart_and_never_routed(
    facility: Facility,
    dev_model: ModelVersion,
    candidate: ModelVersion,
    image: Image,
    api_client: APIClient,
) -> None:
    policy = accepting_policy(facility, min_confidence=0.001, default_threshold=0.001)
    run_to(image, Status.INFERRED)
    model_rows = image.detections.filter(source=Detection.Source.MODEL)
    shadow_rows = image.detections.filter(source=SHADOW)
    assert model_rows.exists() and shadow_rows.exists()
    assert set(model_rows.values_list("model_version", flat=True)) == {dev_model.pk}
    assert set(shadow_rows.values_list("model_version", flat=True)) == {candidate.pk}
    run = ShadowRun.objects.get(image=image)
    assert run.boxes == shadow_rows.count() and run.inference_ms > 0
    before = sorted(shadow_rows.values_list("confidence", "x1", "y1", "x2", "y2"))

    expire_lease(image, Status.INFERRING)  # a repeated inference: one set of each
    assert infer_image(image.pk) == 1
    assert ShadowRun.objects.filter(image=image).count() == 1
    assert sorted(shadow_rows.values_list("confidence", "x1", "y1", "x2", "y2")) == before

    # A confident shadow box, and a noise floor above every box of the model: were validation
    # to see shadow boxes it would accept the image and drop the shadow's faint ones.
    add_shadow_boxes(image, candidate, [(0, 0.99, (10.0, 10.0, 200.0, 200.0))], run=False)
    policy.min_confidence = policy.default_threshold = 0.5
    policy.review_if_no_detections = True
    policy.save()
    validate_image(image.pk)
    assert (reload(image).status, image.review_reasons) == (Status.NEEDS_REVIEW, ["no_detections"])
    assert not model_rows.exists()  # the model's noise dropped
    assert shadow_rows.count() == len(before) + 1  # the shadow's untouched ...
    assert set(shadow_rows.values_list("accepted", flat=True)) == {None}  # ... and unjudged
    # The API shows the model's (none left), never the shadow's.
    [shown] = api_client.get(f"{BATCHES_URL}{image.batch_id}/images/").json()["results"]
    assert shown["detections"] == []
    [row] = api_client.get(f"{BATCHES_URL}{image.batch_id}/results.json").json()["rows"]
    assert (row["class_name"], row["box"]) == ("", None)  # the image's own row: no box


def test_a_failing_shadow_leaves_the_image_as_without_one(
    facility: Facility,
    candidate: ModelVersion,
    image: Image,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    accepting_policy(facility, min_confidence=0.001, default_threshold=0.001)
    real = runtime.get_model

    def broken(model: ModelVersion) -> Any:
        if model.pk == candidate.pk:
            raise RuntimeError("the shadow's runtime died")
        return real(model)

    monkeypatch.setattr(runtime, "get_model", broken)
    failures = metrics.SHADOW_FAILURES.labels(facility.slug, str(candidate))
    before = failures._value.get()
    run_to(image, Status.INFERRED)
    assert reload(image).status == Status.INFERRED
    assert image.detections.filter(source=Detection.Source.MODEL).exists()
    assert not image.detections.filter(source=SHADOW).exists()
    assert not ShadowRun.objects.filter(image=image).exists()
    assert failures._value.get() == before + 1
    assert "shadow model dev:candidate failed" in caplog.text
