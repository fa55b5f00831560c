"""`manage.py replay_failed`: an operator sends a batch's failed images through the pipeline
again, all of them or those of some reasons; nothing else is touched."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from inspection.models import Batch, Facility, Image, ModelVersion, ReplayRequest
from inspection.pipeline.enqueue import batches
from inspection.pipeline.stages import PREPROCESS
from tests.api_support import Published
from tests.workers import add_image, empty_batch

pytestmark = pytest.mark.django_db
Status = Image.Status


def replay(*args: str) -> str:
    out = StringIO()
    call_command("replay_failed", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def failed_batch(facility: Facility, dev_model: ModelVersion, media_root: Path) -> Batch:
    batch = empty_batch(facility)
    for name, reason in (("a.jpg", "attempts_exhausted"), ("b.jpg", "original_missing")):
        add_image(batch, b"x", name, status=Status.FAILED, reason=reason, attempts=3)
    add_image(batch, b"y", "c.jpg", status=Status.ACCEPTED)
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.COMPLETED)
    return batch


def test_every_failed_image_is_queued_again_and_the_batch_reopens(
    failed_batch: Batch, published: Published, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        said = replay(str(failed_batch.pk))
    assert "2 failed image(s) queued again (" in said
    assert "attempts_exhausted 1" in said and "original_missing 1" in said
    images = {image.original_name: image for image in failed_batch.images.all()}
    assert {name: (i.status, i.attempts, i.reason) for name, i in images.items()} == {
        "a.jpg": (Status.QUEUED, 0, ""),
        "b.jpg": (Status.QUEUED, 0, ""),
        "c.jpg": (Status.ACCEPTED, 0, ""),
    }
    failed_batch.refresh_from_db()
    assert failed_batch.status == Batch.Status.PROCESSING
    # One preprocess message per stage batch of the replayed images (it names the first).
    replayed = sorted(str(images[n].pk) for n in ("a.jpg", "b.jpg"))
    sent = [args[0] for name, args, _ in published.calls]
    assert sent == [ids[0] for ids in batches(PREPROCESS, replayed)]


def test_a_reason_narrows_the_replay(failed_batch: Batch, published: Published) -> None:
    said = replay(str(failed_batch.pk), "--reason", "attempts_exhausted")
    assert "1 failed image(s) queued again (attempts_exhausted 1)" in said
    statuses = dict(failed_batch.images.values_list("original_name", "status"))
    assert (statuses["a.jpg"], statuses["b.jpg"]) == (Status.QUEUED, Status.FAILED)


def test_nothing_failed_is_said_and_changes_nothing(
    failed_batch: Batch, published: Published, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        said = replay(str(failed_batch.pk), "--reason", "decode_error")
    assert "no failed image to replay" in said
    assert published.calls == []
    failed_batch.refresh_from_db()
    assert failed_batch.status == Batch.Status.COMPLETED


@pytest.mark.parametrize(
    ("batch_id", "message"),
    [
        ("not-a-uuid", "'not-a-uuid' is not a batch id (a UUID)."),
        ("6f1c1a52-5a1e-4a59-9a36-0f0d3a3f0b11", "No batch 6f1c1a52-5a1e-4a59-9a36-0f0d3a3f0b11."),
    ],
)
def test_an_unknown_batch_is_refused_in_one_line(batch_id: str, message: str) -> None:
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        replay(batch_id)


def test_each_batch_replayed_is_one_audited_request(
    failed_batch: Batch, published: Published
) -> None:
    replay(str(failed_batch.pk), "--reason", "attempts_exhausted", "--reason", "original_missing")
    rows = ReplayRequest.objects.order_by("reason")
    assert [(r.scope, r.batch_id, r.reason, r.replayed, r.author) for r in rows] == [
        ("batch", failed_batch.pk, reason, 1, "manage.py replay_failed")
        for reason in ("attempts_exhausted", "original_missing")
    ]


def test_a_replay_against_another_model_version_is_recorded(
    failed_batch: Batch, dev_model: ModelVersion, published: Published
) -> None:
    said = replay(str(failed_batch.pk), "--model", "dev:test")
    assert "2 failed image(s) queued again" in said
    replay_models = set(failed_batch.images.values_list("replay_model", flat=True))
    assert replay_models == {dev_model.pk, None}  # the accepted image is untouched
    assert ReplayRequest.objects.get().model_version == dev_model


def test_an_unknown_model_version_is_refused(failed_batch: Batch) -> None:
    with pytest.raises(CommandError, match="No registered model version 'dev:nope'"):
        replay(str(failed_batch.pk), "--model", "dev:nope")
    assert failed_batch.images.filter(status=Status.FAILED).count() == 2
