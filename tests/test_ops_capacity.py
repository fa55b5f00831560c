"""How much PostgreSQL work one image costs, through its whole life (submission, preprocess,
inference in a batch of 8, validation): the basis of the capacity estimate in docs/deploy.md.
A guard too: a change that adds queries per image fails here and has to say why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inspection.models import Facility, Image, ModelVersion
from inspection.pipeline.infer import infer_image
from inspection.pipeline.preprocess import preprocess_image
from inspection.pipeline.validate import validate_image
from tests import images
from tests.api_support import Published, submit, upload
from tests.workers import accepting_policy

pytestmark = pytest.mark.slow

BATCH = 8
# Measured: about 3 per image at submission, 7 preprocess, 6 infer, 11 validate (see report).
MAX_QUERIES_PER_IMAGE = 35


def capture(action: Callable[[], Any]) -> tuple[int, float]:
    """Queries run and their summed database time in ms (client-side timing, loopback)."""
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured), sum(float(q["time"]) for q in captured.captured_queries) * 1000


@pytest.mark.django_db(transaction=True)
def test_queries_per_image_through_the_pipeline(
    api_client: Any,
    facility: Facility,
    dev_model: ModelVersion,
    media_root: Path,
    published: Published,
    capsys: pytest.CaptureFixture[str],
) -> None:
    accepting_policy(facility)
    files = [upload(f"p{i}.jpg", images.photo_jpeg(320, 240, seed=i)) for i in range(BATCH)]
    cost = {"submit": capture(lambda: submit(api_client, files))}
    ids = list(Image.objects.values_list("id", flat=True))
    cost["preprocess"] = capture(lambda: [preprocess_image(i) for i in ids])
    cost["infer"] = capture(lambda: infer_image(ids[0]))  # claims the other seven as a batch
    cost["validate"] = capture(lambda: [validate_image(i) for i in ids])
    assert set(Image.objects.values_list("status", flat=True)) == {Image.Status.ACCEPTED}

    per_image = {stage: (n / BATCH, ms / BATCH) for stage, (n, ms) in cost.items()}
    total = sum(n for n, _ in per_image.values())
    with capsys.disabled():
        print(
            f"\n[capacity] {connection.vendor}: queries/image "
            + " ".join(f"{stage}={n:.1f} ({ms:.1f} ms)" for stage, (n, ms) in per_image.items())
            + f" total={total:.1f} ({sum(ms for _, ms in per_image.values()):.1f} ms)"
        )
    assert total <= MAX_QUERIES_PER_IMAGE
