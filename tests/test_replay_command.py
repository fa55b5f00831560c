"""`manage.py replay_failed`: an operator sends a batch's failed images through the pipeline
again, all of them or those of some reasons; nothing else is touched."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from inspection.models import Batch, Facility, Image, ModelVersion
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
    sent = sorted(args[0] for name, args, _ in published.calls)
    assert sent == sorted(str(images[n].pk) for n in ("a.jpg", "b.jpg"))


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
