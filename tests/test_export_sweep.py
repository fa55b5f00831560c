"""Lost export jobs: a job whose message was lost is sent to the builder again by the sweep, and
one whose worker died mid-build is failed with the reason once the build's hard time limit has
passed, so every export ends `done` or `failed`."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from inspection.models import RESEND_MAX_WAITS, ExportJob
from inspection.review.export_sweep import WORKER_LOST, ExportSweep, sweep_exports
from inspection.review.exports import BUILD_LIMITS, request_export
from tasks.review import build_export

pytestmark = pytest.mark.usefixtures("media_root")


@pytest.fixture
def queued_job(facility: Any, reviewer: Any, settings: Any) -> ExportJob:
    """A job handed to a worker (its message, recorded by nobody, is as good as lost)."""
    settings.EXPORT_INLINE_MAX_IMAGES = -1  # even an empty export goes to a worker
    return request_export(reviewer, facility, "coco", date.today(), date.today())


def age(job: ExportJob, seconds: float, field: str = "created_at") -> None:
    moment = timezone.now() - timedelta(seconds=seconds)
    ExportJob.objects.filter(pk=job.pk).update(**{field: moment})


def test_a_pending_job_is_resent_after_a_sweep_interval(
    queued_job: ExportJob, published: Any, settings: Any
) -> None:
    assert sweep_exports().resent == 0  # just requested: its message may still be on its way
    age(queued_job, settings.EXPORT_SWEEP_INTERVAL_SECONDS + 1)
    assert sweep_exports().resent == 1
    assert published.calls == [
        ("inspection.build_export", [str(queued_job.pk)], f"export:{queued_job.pk}")
    ]
    build_export(str(queued_job.pk))  # the re-sent message, as the worker runs it
    queued_job.refresh_from_db()
    assert queued_job.status == "done" and queued_job.started_at is not None
    assert sweep_exports().resent == 0


def test_a_job_still_pending_is_resent_after_waits_that_double(
    queued_job: ExportJob, published: Any, settings: Any
) -> None:
    """A backlog delays the first message: each copy waits twice as long as the one before,
    so the queue is not lengthened by one copy per sweep."""
    interval = timedelta(seconds=settings.EXPORT_SWEEP_INTERVAL_SECONDS)
    start = queued_job.created_at

    def resent_at(waits: float) -> int:
        return sweep_exports(now=start + interval * waits).resent

    assert [resent_at(w) for w in (1.01, 2, 2.9, 3.01, 5, 6.9, 7.01)] == [1, 0, 0, 1, 0, 0, 1]
    queued_job.refresh_from_db()
    assert (queued_job.resends, queued_job.resent_at) == (3, start + interval * 7.01)
    assert len(published.calls) == 3


def test_the_wait_between_resends_stops_growing(
    queued_job: ExportJob, published: Any, settings: Any
) -> None:
    interval = timedelta(seconds=settings.EXPORT_SWEEP_INTERVAL_SECONDS)
    ExportJob.objects.filter(pk=queued_job.pk).update(resends=30, resent_at=timezone.now())
    later = timezone.now() + interval * RESEND_MAX_WAITS
    assert sweep_exports(now=later - interval).resent == 0
    assert sweep_exports(now=later).resent == 1


def test_two_sweeps_due_at_once_send_one_copy(
    queued_job: ExportJob, published: Any, settings: Any
) -> None:
    now = timezone.now() + timedelta(seconds=settings.EXPORT_SWEEP_INTERVAL_SECONDS + 1)
    first, second = ExportJob.objects.get(), ExportJob.objects.get()  # both read it as due
    assert first.resend_due(now, timedelta(seconds=settings.EXPORT_SWEEP_INTERVAL_SECONDS))
    assert (first.mark_resent(now), second.mark_resent(now)) == (True, False)


def test_a_job_running_past_the_hard_limit_fails_with_the_reason(
    queued_job: ExportJob, published: Any, settings: Any
) -> None:
    assert queued_job.start()  # a worker took it, then died
    age(queued_job, BUILD_LIMITS[1], "started_at")
    assert sweep_exports().failed == 0  # it may still be running
    age(queued_job, BUILD_LIMITS[1] + settings.EXPORT_SWEEP_INTERVAL_SECONDS + 1, "started_at")
    assert sweep_exports().failed == 1
    queued_job.refresh_from_db()
    assert (queued_job.status, queued_job.error) == ("failed", WORKER_LOST)
    assert queued_job.finished_at is not None
    build_export(str(queued_job.pk))  # a late redelivery of its message changes nothing
    queued_job.refresh_from_db()
    assert queued_job.status == "failed"


def test_finished_jobs_are_left_alone(queued_job: ExportJob, published: Any, settings: Any) -> None:
    build_export(str(queued_job.pk))
    long_ago = BUILD_LIMITS[1] + settings.EXPORT_SWEEP_INTERVAL_SECONDS + 1
    age(queued_job, long_ago)
    age(queued_job, long_ago, "started_at")
    assert sweep_exports() == ExportSweep(resent=0, failed=0)
    queued_job.refresh_from_db()
    assert queued_job.status == "done"
