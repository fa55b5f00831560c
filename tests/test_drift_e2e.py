"""The drift guard through real processes: beat (in a cpu worker, `-B`) schedules the check, the
worker runs it on the test's PostgreSQL database and opens the alert; then, at a facility that
opted in, validation in that worker routes the alerted class to review."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.utils import timezone

from inspection.models import DriftAlert, Facility, Image
from inspection.pipeline.enqueue import enqueue_validate
from tests.analytics_support import Site
from tests.api_support import make_batch
from tests.drift_support import boxes_at, spread
from tests.learning_support import add_boxes
from tests.workers import CPU_QUEUES, WorkerSet, wait_until, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workers(tmp_path: Path, media_root: Path, redis_queues: redis.Redis) -> Iterator[WorkerSet]:
    logs = tmp_path / "logs"
    logs.mkdir()
    env = worker_env(media_root, tmp_path / "var", DRIFT_CHECK_INTERVAL_SECONDS="1")
    group = WorkerSet(env, logs)
    try:
        yield group
    finally:
        group.stop_all()


def test_beat_runs_the_check_in_a_worker_and_it_opens_the_alert(
    facility: Facility, workers: WorkerSet, tmp_path: Path
) -> None:
    Facility.objects.filter(pk=facility.pk).update(created_at=timezone.now() - timedelta(days=60))
    site = Site.of(facility)
    now = timezone.now()
    # Written before the worker starts: images decided ten days ago arrive only in a test, and a
    # check sealing that hour halfway through the writing would miss the rest of it.
    boxes_at(site, now - timedelta(days=10), "parcel", spread(0.80, 0.99, 600))
    boxes_at(site, now - timedelta(hours=2), "parcel", spread(0.55, 0.75, 600))
    beat = ["-B", "-s", str(tmp_path / "beat-schedule")]
    cpu = workers.start("cpu", CPU_QUEUES, extra_args=beat)
    cpu.wait_ready()

    assert wait_until(DriftAlert.objects.exists, timeout=60), cpu.log()[-3000:]
    alert = DriftAlert.objects.get()
    assert (alert.facility_id, alert.class_name, alert.kind) == (facility.pk, "parcel", "drift")
    assert "inspection.check_drift" in cpu.log()

    # The facility opts in: the worker's validation now sends a confident parcel to review.
    Facility.objects.filter(pk=facility.pk).update(drift_routes_to_review=True, audit_share=0.0)
    batch = make_batch(facility, [Image.Status.INFERRED] * 2, camera="dock-1")
    batch.images.update(model_version=site.model, width=320, height=240)
    for image in batch.images.all():
        add_boxes(image, ((0, 0.97, [20.0, 30.0, 120.0, 150.0]),))
    enqueue_validate(batch.images.values_list("id", flat=True))

    assert wait_until(lambda: not batch.images.exclude(status="needs_review").exists(), 60)
    assert {tuple(i.review_reasons) for i in batch.images.all()} == {("drift:parcel",)}
