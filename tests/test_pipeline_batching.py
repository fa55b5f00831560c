"""Dynamic batching across submissions: one infer task runs the model once for everything ready."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from inspection.inference import runtime
from inspection.models import Facility, Image, ModelVersion
from inspection.pipeline import batching
from inspection.pipeline.batching import batch_size_limit
from inspection.pipeline.fairness import claim_batch
from inspection.pipeline.infer import infer_image
from inspection.pipeline.preprocess import preprocess_image
from inspection.pipeline.stages import INFER
from tests.workers import add_image, empty_batch, photo_bytes, reload

Status = Image.Status


class CountingModel:
    """Wraps the real YOLO object: counts predict calls and batch sizes, optionally fails."""

    def __init__(self, yolo: Any, fail_when_more_than: int | None = None) -> None:
        self.yolo = yolo
        self.batches: list[int] = []
        self.fail_when_more_than = fail_when_more_than

    def predict(self, source: list[Any], **kwargs: Any) -> Any:
        self.batches.append(len(source))
        if self.fail_when_more_than is not None and len(source) > self.fail_when_more_than:
            raise RuntimeError("poisoned batch")
        return self.yolo.predict(source, **kwargs)


@pytest.fixture
def counting(dev_model: ModelVersion, settings: Any) -> Iterator[CountingModel]:
    settings.INFERENCE_DEVICE = "cpu"
    settings.INFERENCE_MAX_BATCH_MS = 10**6  # these tests are about batch sizes, not time
    loaded = runtime.get_model(dev_model)
    wrapper = CountingModel(loaded.yolo)
    loaded.yolo = wrapper
    yield wrapper
    loaded.yolo = wrapper.yolo


def preprocessed_images(facility: Facility, count: int, batches: int = 2) -> list[Image]:
    groups = [empty_batch(facility) for _ in range(batches)]
    images = [add_image(groups[i % batches], photo_bytes(480, 320, seed=i)) for i in range(count)]
    for image in images:
        preprocess_image(image.pk)
    return images


@pytest.mark.django_db
def test_one_task_infers_a_full_batch_in_one_predict(
    facility: Facility, media_root: Path, counting: CountingModel, settings: Any
) -> None:
    settings.INFERENCE_BATCH_SIZE = 8
    images = preprocessed_images(facility, 11)
    assert infer_image(images[5].pk) == 8
    assert counting.batches == [8]
    inferred = [image for image in images if reload(image).status == Status.INFERRED]
    assert inferred == images[:8]  # one facility: the oldest first, whatever the message named
    assert all(image.timings["batch_size"] == 8 for image in inferred)
    assert {image.batch_id for image in inferred} == {
        image.batch_id for image in images
    }  # across submissions
    # The next message takes the rest; one more finds nothing (a no-op).
    assert infer_image(images[0].pk) == 3
    assert infer_image(images[1].pk) == 0
    assert counting.batches == [8, 3]


@pytest.mark.django_db
def test_a_batch_takes_the_oldest_ready_images_whatever_its_message_names(
    facility: Facility, media_root: Path, counting: CountingModel, settings: Any
) -> None:
    settings.INFERENCE_BATCH_SIZE = 3
    images = preprocessed_images(facility, 6, batches=1)
    infer_image(images[5].pk)
    assert [reload(image).status for image in images] == [Status.INFERRED] * 3 + [
        Status.PREPROCESSED
    ] * 3


@pytest.mark.django_db
def test_a_retried_image_is_inferred_alone(
    facility: Facility, media_root: Path, counting: CountingModel
) -> None:
    images = preprocessed_images(facility, 4)
    Image.objects.filter(pk=images[0].pk).update(attempts=1)  # released after a failed batch
    assert infer_image(images[0].pk) == 1
    assert infer_image(images[1].pk) == 3  # and nobody takes it as a neighbour either
    assert counting.batches == [1, 3]


@pytest.mark.django_db
def test_a_failing_batch_is_split_and_only_the_poison_image_fails(
    facility: Facility,
    media_root: Path,
    counting: CountingModel,
    django_capture_on_commit_callbacks: Any,
) -> None:
    images = preprocessed_images(facility, 3)
    counting.fail_when_more_than = 1
    with django_capture_on_commit_callbacks() as published:
        assert infer_image(images[0].pk) == 0
    assert len(published) == 1  # one enqueue_infer for the three, each to run alone
    assert all(
        reload(image).status == Status.PREPROCESSED and image.attempts == 1 for image in images
    )
    counting.fail_when_more_than = None
    assert [infer_image(image.pk) for image in images] == [1, 1, 1]
    assert counting.batches == [3, 1, 1, 1]


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_share_an_image(
    facility: Facility, media_root: Path, dev_model: ModelVersion, settings: Any
) -> None:
    settings.INFERENCE_BATCH_SIZE = 4
    preprocessed_images(facility, 12)
    claimed: list[list[Any]] = []
    start = threading.Barrier(3)

    def worker() -> None:
        start.wait()
        try:
            claimed.append([claim.image_id for claim in claim_batch(INFER)])
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [image_id for batch in claimed for image_id in batch]
    assert len(every) == len(set(every)) >= 4
    assert set(Image.objects.filter(status=Status.INFERRING).values_list("id", flat=True)) == set(
        every
    )


def test_a_batch_is_cut_to_its_time_budget(settings: Any) -> None:
    settings.INFERENCE_BATCH_SIZE, settings.INFERENCE_MAX_BATCH_MS = 8, 150
    assert batch_size_limit(2.0) == 8  # a GPU: the size limit
    assert batch_size_limit(60.0) == 2  # a CPU: 2 x 60 ms fits in 150 ms
    assert batch_size_limit(400.0) == 1  # never below one
    assert batch_size_limit(None) == 8  # nothing measured yet


@pytest.mark.django_db
def test_the_measured_time_per_image_sets_the_next_batch(
    facility: Facility, media_root: Path, counting: CountingModel, settings: Any
) -> None:
    settings.INFERENCE_BATCH_SIZE, settings.INFERENCE_MAX_BATCH_MS = 8, 100
    images = preprocessed_images(facility, 6)
    batching.observe(40.0)  # as if the last batch took 40 ms an image
    assert infer_image(images[0].pk) == 2
    assert counting.batches == [2]


@pytest.mark.django_db
def test_a_message_whose_batch_was_cut_sends_one_for_the_rest(
    facility: Facility,
    media_root: Path,
    counting: CountingModel,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Preprocessing sent one message for 8 images; batches of 2 on this CPU: the messages
    chain until the claim comes back short, and every image is inferred."""
    settings.INFERENCE_BATCH_SIZE, settings.INFERENCE_MAX_BATCH_MS = 8, 100
    images = preprocessed_images(facility, 7)
    messages = [images[0].pk]
    while messages:
        batching.observe(40.0)
        with django_capture_on_commit_callbacks(execute=False) as sent:
            infer_image(messages.pop())
        messages += [images[0].pk] * sum(1 for c in sent if c.args[0] is INFER)
    assert counting.batches == [2, 2, 2, 1]
    assert all(reload(image).status == Status.INFERRED for image in images)
