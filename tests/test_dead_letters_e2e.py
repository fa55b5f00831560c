"""Replays through real processes: failed images replayed over the REST API (one image, a
batch, a reason; one against another registered model version) reach a terminal state through
a real cpu worker and inference worker, and each image records the model it ran with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from inspection.inference import registry
from inspection.models import Batch, Facility, Image, ModelVersion
from tests.dead_letter_support import completed_batch, failed_image
from tests.test_e2e_pipeline import start_pipeline, workers_for
from tests.workers import WorkerSet, accepting_policy, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
Status = Image.Status
REPLAY_URL = "/api/v1/failed-images/replay/"
TIMEOUT = 120


@pytest.fixture
def models(facility: Facility, dev_model_file: Path) -> tuple[ModelVersion, ModelVersion]:
    """The facility's active model, and a candidate at another input size (nobody's active)."""
    active = registry.register_model(dev_model_file, "dev-untrained", "e2e", input_size=320)
    registry.activate_model(facility, active)
    candidate = registry.register_model(dev_model_file, "dev-untrained", "next", input_size=256)
    accepting_policy(facility)  # random weights find nothing: good photos end accepted
    return active, candidate


@pytest.fixture
def workers(
    tmp_path: Path,
    media_root: Path,
    models: tuple[ModelVersion, ModelVersion],
    redis_queues: redis.Redis,
) -> Iterator[WorkerSet]:
    group = workers_for(tmp_path, media_root)
    try:
        yield group
    finally:
        group.stop_all()


def terminal(*images: Image) -> None:
    ids = [image.pk for image in images]

    def done() -> bool:
        return not Image.objects.filter(pk__in=ids).exclude(status__in=Image.TERMINAL).exists()

    assert wait_until(done, TIMEOUT, 0.1), list(
        Image.objects.filter(pk__in=ids).values_list("status", "reason")
    )


def replayed(api_client: Any, **body: str) -> int:
    response = api_client.post(REPLAY_URL, body, format="json")
    assert response.status_code == 202, response.content
    return int(response.json()["replayed"])


def test_replays_of_an_image_a_batch_and_a_reason_end_through_real_workers(
    workers: WorkerSet,
    api_client: Any,
    facility: Facility,
    models: tuple[ModelVersion, ModelVersion],
) -> None:
    active, candidate = models
    first, second = completed_batch(facility), completed_batch(facility)
    one = failed_image(first, "inference_error", "RuntimeError('boom')")
    rest = [failed_image(first, "attempts_exhausted") for _ in range(2)]
    timeouts = [failed_image(second, "worker_lost") for _ in range(2)]
    start_pipeline(workers)

    assert replayed(api_client, image=str(one.pk)) == 1
    terminal(one)
    assert replayed(api_client, batch=str(first.pk)) == 2
    terminal(*rest)
    assert replayed(api_client, reason="worker_lost", model_version=str(candidate)) == 2
    terminal(*timeouts)

    def ended(image: Image) -> tuple[str, Any]:
        image.refresh_from_db()
        return image.status, image.model_version

    assert [ended(image) for image in (one, *rest)] == [(Status.ACCEPTED, active)] * 3
    assert [ended(image) for image in timeouts] == [(Status.ACCEPTED, candidate)] * 2
    assert [image.scale for image in timeouts] == [pytest.approx(256 / 800)] * 2
    assert Batch.objects.filter(status=Batch.Status.COMPLETED).count() == 2
    facility.refresh_from_db()
    assert facility.active_model == active
