"""Dead letters, through the service and selectors on a real database: failed images listed
and counted per reason within the caller's facilities; replays of one image, a batch, or a
reason (optionally at one facility, optionally against another model version), idempotent and
audited once per request."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.http import Http404
from prometheus_client import REGISTRY

from inspection.dead_letters.replays import (
    Caller,
    InvalidReplay,
    ReplayKeyReused,
    ReplayScope,
    UnknownModelVersion,
    model_named,
    request_replay,
)
from inspection.dead_letters.selectors import FailedFilter, counts_by_reason, failed_images
from inspection.inference import registry
from inspection.models import AuditRowImmutable, Batch, Facility, Image, ModelVersion, ReplayRequest
from inspection.pipeline.infer import infer_image
from inspection.pipeline.preprocess import preprocess_image
from inspection.pipeline.validate import validate_image
from tests.dead_letter_support import completed_batch, failed_image, hours_ago
from tests.workers import accepting_policy, add_image, photo_bytes, reload

pytestmark = pytest.mark.django_db
Status = Image.Status
COMMAND = Caller.command("test")


@pytest.fixture
def mine(facility: Facility, media_root: Path) -> dict[str, Image]:
    """Failed images of the facility: two batches, three reasons, and one accepted image."""
    first, second = completed_batch(facility, "dock-1"), completed_batch(facility, "dock-2")
    images = {
        "timeout": failed_image(first, "attempts_exhausted", "3 attempts", hours_ago(3)),
        "crash": failed_image(first, "inference_error", "RuntimeError('boom')", hours_ago(2)),
        "crash2": failed_image(second, "inference_error", "RuntimeError('bang')", hours_ago(1)),
        "dark": failed_image(
            second, "too_dark", "mean 4", hours_ago(0.5), model_version=facility.active_model
        ),
    }
    images["fine"] = add_image(first, photo_bytes(), "fine.jpg", status=Status.ACCEPTED)
    return images


@pytest.fixture
def theirs(other_facility: Facility, media_root: Path) -> Image:
    return failed_image(completed_batch(other_facility), "inference_error", "foreign")


def everyone() -> Any:
    return Facility.objects.all()


def only(facility: Facility) -> Any:
    return Facility.objects.filter(pk=facility.pk)


# --- listing ---------------------------------------------------------------------------------


def test_the_listing_shows_only_failed_images_of_the_callers_facilities_newest_first(
    mine: dict[str, Image], theirs: Image, facility: Facility
) -> None:
    rows = list(failed_images(only(facility), FailedFilter()))
    assert [row.pk for row in rows] == [mine[n].pk for n in ("dark", "crash2", "crash", "timeout")]
    dark = rows[0]
    assert (dark.batch.camera, dark.facility.slug, dark.reason, dark.reason_detail) == (
        "dock-2",
        "dc-north",
        "too_dark",
        "mean 4",
    )
    assert (dark.attempts, dark.model_version) == (3, facility.active_model)
    assert theirs.pk in {row.pk for row in failed_images(everyone(), FailedFilter())}


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (FailedFilter(reason="inference_error"), {"crash", "crash2"}),
        (FailedFilter(facility="dc-north", reason="too_dark"), {"dark"}),
        (FailedFilter(facility="dc-south"), set()),  # not the caller's: nothing, not theirs
        (FailedFilter(since=hours_ago(1.5)), {"crash2", "dark"}),
    ],
)
def test_the_listing_narrows_by_facility_reason_and_time(
    mine: dict[str, Image],
    theirs: Image,
    facility: Facility,
    where: FailedFilter,
    expected: set[str],
) -> None:
    names = {image.pk: name for name, image in mine.items()}
    assert {names[row.pk] for row in failed_images(only(facility), where)} == expected


def test_the_listing_narrows_by_batch(mine: dict[str, Image], facility: Facility) -> None:
    where = FailedFilter(batch=mine["crash2"].batch_id)
    rows = failed_images(only(facility), where)
    assert {row.pk for row in rows} == {mine["crash2"].pk, mine["dark"].pk}


def test_counts_per_reason_most_first_within_the_callers_facilities(
    mine: dict[str, Image], theirs: Image, facility: Facility
) -> None:
    counts = counts_by_reason(failed_images(only(facility), FailedFilter()))
    assert [(c.reason, c.count) for c in counts] == [
        ("inference_error", 2),
        ("attempts_exhausted", 1),
        ("too_dark", 1),
    ]
    everywhere = counts_by_reason(failed_images(everyone(), FailedFilter()))
    assert everywhere[0].reason == "inference_error" and everywhere[0].count == 3


# --- replays ---------------------------------------------------------------------------------


def test_replaying_one_image_queues_it_again_and_writes_one_audit_row(
    mine: dict[str, Image], facility: Facility, reviewer: Any, published: Any
) -> None:
    caller = Caller.of_user(reviewer, "failed images page")
    outcome = request_replay(only(facility), ReplayScope(image=mine["crash"].pk), caller)
    assert outcome.created
    image = reload(mine["crash"])
    assert (image.status, image.attempts, image.reason, image.reason_detail) == (
        Status.QUEUED,
        0,
        "",
        "",
    )
    assert Batch.objects.get(pk=image.batch_id).status == Batch.Status.PROCESSING
    (row,) = ReplayRequest.objects.all()
    assert (row.scope, row.image_id, row.facility, row.replayed, row.skipped_ids) == (
        "image",
        image.pk,
        facility,
        1,
        [],
    )
    assert (row.requested_by, row.author, row.model_version) == (
        reviewer,
        "failed images page rita",
        None,
    )
    assert reload(mine["crash2"]).status == Status.FAILED  # the other one of the reason stays


def test_a_committed_replay_counts_its_images_per_facility(
    mine: dict[str, Image], facility: Facility, django_capture_on_commit_callbacks: Any
) -> None:
    labels = {"facility": "dc-north"}
    before = REGISTRY.get_sample_value("inspection_images_replayed_total", labels) or 0.0
    with django_capture_on_commit_callbacks(execute=True):
        request_replay(only(facility), ReplayScope(reason="inference_error"), COMMAND)
    after = REGISTRY.get_sample_value("inspection_images_replayed_total", labels)
    assert after == before + 2


def test_replaying_a_batch_replays_its_failed_images_only(
    mine: dict[str, Image], facility: Facility, published: Any
) -> None:
    scope = ReplayScope(batch=mine["crash"].batch_id)
    outcome = request_replay(only(facility), scope, COMMAND)
    assert outcome.request.replayed == 2
    statuses = {name: reload(image).status for name, image in mine.items()}
    assert statuses == {
        "timeout": Status.QUEUED,
        "crash": Status.QUEUED,
        "crash2": Status.FAILED,
        "dark": Status.FAILED,
        "fine": Status.ACCEPTED,
    }


def test_replaying_a_reason_takes_every_failed_image_of_it_in_the_callers_facilities(
    mine: dict[str, Image], theirs: Image, facility: Facility, published: Any
) -> None:
    outcome = request_replay(only(facility), ReplayScope(reason="inference_error"), COMMAND)
    assert outcome.request.replayed == 2
    assert {reload(mine["crash"]).status, reload(mine["crash2"]).status} == {Status.QUEUED}
    assert reload(theirs).status == Status.FAILED  # another facility's: untouched


def test_a_reason_at_one_facility_leaves_the_others(
    mine: dict[str, Image], theirs: Image, facility: Facility, published: Any
) -> None:
    scope = ReplayScope(reason="inference_error", facility="dc-south")
    outcome = request_replay(everyone(), scope, COMMAND)
    assert outcome.request.facility is not None
    assert (outcome.request.replayed, outcome.request.facility.slug) == (1, "dc-south")
    assert reload(theirs).status == Status.QUEUED
    assert reload(mine["crash"]).status == Status.FAILED


@pytest.mark.parametrize("what", ["image", "batch", "facility"])
def test_another_facilitys_failures_cannot_be_replayed(
    mine: dict[str, Image], theirs: Image, facility: Facility, what: str
) -> None:
    scope = {
        "image": ReplayScope(image=theirs.pk),
        "batch": ReplayScope(batch=theirs.batch_id),
        "facility": ReplayScope(reason="inference_error", facility="dc-south"),
    }[what]
    with pytest.raises(Http404):
        request_replay(only(facility), scope, COMMAND)
    assert reload(theirs).status == Status.FAILED
    assert not ReplayRequest.objects.exists()


def test_the_same_request_twice_replays_each_image_once_and_reports_the_second_skipped(
    mine: dict[str, Image], facility: Facility, published: Any
) -> None:
    scope = ReplayScope(image=mine["crash"].pk)
    first = request_replay(only(facility), scope, COMMAND)
    second = request_replay(only(facility), scope, COMMAND)
    assert (first.request.replayed, second.request.replayed) == (1, 0)
    assert second.request.skipped_ids == [str(mine["crash"].pk)]
    assert len(published.calls) == 0  # after commit only; the test's transaction never commits


def test_a_repeat_with_the_same_key_finds_the_first_request_and_replays_nothing(
    mine: dict[str, Image],
    facility: Facility,
    django_capture_on_commit_callbacks: Any,
    published: Any,
) -> None:
    scope = ReplayScope(reason="inference_error")
    with django_capture_on_commit_callbacks(execute=True):
        first = request_replay(only(facility), scope, COMMAND, idempotency_key="k-1")
    # Failed again meanwhile: a retry of the same request must not send it a second time.
    Image.objects.filter(pk=mine["crash"].pk).update(status=Status.FAILED, reason="inference_error")
    sent = len(published.calls)
    with django_capture_on_commit_callbacks(execute=True):
        again = request_replay(only(facility), scope, COMMAND, idempotency_key="k-1")
    assert (first.created, again.created, again.request.pk) == (True, False, first.request.pk)
    assert (sent, len(published.calls)) == (1, 1)  # one preprocess message, never again
    assert reload(mine["crash"]).status == Status.FAILED
    assert ReplayRequest.objects.count() == 1


def test_an_upload_refused_before_it_was_stored_is_skipped(
    facility: Facility, media_root: Path, published: Any
) -> None:
    batch = completed_batch(facility)
    refused = add_image(batch, b"", "huge.png", status=Status.FAILED, reason="too_many_pixels")
    Image.objects.filter(pk=refused.pk).update(storage_key="")
    outcome = request_replay(only(facility), ReplayScope(batch=batch.pk), COMMAND)
    assert (outcome.request.replayed, outcome.request.skipped_ids) == (0, [str(refused.pk)])
    assert reload(refused).status == Status.FAILED


def test_a_key_is_per_caller_and_refused_for_a_different_request(
    mine: dict[str, Image], facility: Facility, reviewer: Any, published: Any
) -> None:
    request_replay(only(facility), ReplayScope(reason="too_dark"), COMMAND, idempotency_key="k")
    with pytest.raises(ReplayKeyReused):
        request_replay(only(facility), ReplayScope(reason="inference_error"), COMMAND, None, "k")
    someone = Caller.of_user(reviewer, "page")
    other = request_replay(
        only(facility), ReplayScope(reason="inference_error"), someone, None, "k"
    )
    assert other.created and other.request.replayed == 2


@pytest.mark.slow
def test_a_replay_against_another_model_version_runs_with_it_and_records_it(
    mine: dict[str, Image],
    facility: Facility,
    dev_model: ModelVersion,
    dev_model_file: Path,
    published: Any,
) -> None:
    other = registry.register_model(dev_model_file, "dev", "candidate", input_size=256)
    accepting_policy(facility)
    image = mine["crash"]
    outcome = request_replay(only(facility), ReplayScope(image=image.pk), COMMAND, other)
    assert outcome.request.model_version == other
    for stage in (preprocess_image, infer_image, validate_image):
        stage(image.pk)
    reload(image)
    assert image.status in (Status.ACCEPTED, Status.NEEDS_REVIEW)
    assert (image.model_version, image.replay_model) == (other, other)
    assert image.scale == pytest.approx(256 / 800)  # sized for the version asked for
    facility.refresh_from_db()
    assert facility.active_model == dev_model  # the facility's model is not changed


@pytest.mark.slow
def test_a_replay_without_a_model_goes_back_to_the_active_one(
    mine: dict[str, Image], facility: Facility, dev_model: ModelVersion, dev_model_file: Path
) -> None:
    other = registry.register_model(dev_model_file, "dev", "candidate", input_size=256)
    image = mine["crash"]
    request_replay(only(facility), ReplayScope(image=image.pk), COMMAND, other)
    Image.objects.filter(pk=image.pk).update(status=Status.FAILED)
    request_replay(only(facility), ReplayScope(image=image.pk), COMMAND)
    preprocess_image(image.pk)
    assert (reload(image).replay_model, image.model_version) == (None, dev_model)


def test_a_model_version_is_named_name_colon_version(dev_model: ModelVersion) -> None:
    assert model_named("dev:test") == dev_model
    with pytest.raises(UnknownModelVersion, match="No registered model version 'dev:nope'"):
        model_named("dev:nope")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Name one image, one batch, or a reason."),
        ({"facility": "dc-north"}, "Name one image, one batch, or a reason."),
        ({"reason": "Bad Reason!"}, "is not a failure reason"),
        ({"batch": "b", "facility": "dc-north"}, "A batch belongs to one facility"),
        ({"image": "i", "reason": "too_dark"}, "An image is replayed alone"),
    ],
)
def test_a_malformed_scope_is_refused_with_what_is_wrong(
    fields: dict[str, Any], message: str
) -> None:
    typed: dict[str, Any] = {
        k: (uuid.uuid4() if k in ("image", "batch") else v) for k, v in fields.items()
    }
    with pytest.raises(InvalidReplay, match=message):
        ReplayScope(**typed)


def test_audit_rows_are_append_only(mine: dict[str, Image], facility: Facility) -> None:
    outcome = request_replay(only(facility), ReplayScope(reason="too_dark"), COMMAND)
    with pytest.raises(AuditRowImmutable):
        outcome.request.save()
    with pytest.raises(AuditRowImmutable):
        ReplayRequest.objects.all().update(replayed=5)
    with pytest.raises(AuditRowImmutable):
        ReplayRequest.objects.all().delete()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("key", [None, "same-click"])
def test_the_same_replay_twice_at_once_replays_each_image_once(
    facility: Facility, media_root: Path, published: Any, key: str | None
) -> None:
    batch = completed_batch(facility)
    images = [failed_image(batch, "inference_error") for _ in range(3)]
    start = threading.Barrier(2)

    def replay_once() -> tuple[int, bool]:
        try:
            start.wait()
            outcome = request_replay(
                only(facility), ReplayScope(batch=batch.pk), COMMAND, idempotency_key=key
            )
            return outcome.request.replayed, outcome.created
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [future.result() for future in [pool.submit(replay_once) for _ in range(2)]]
    # Without a key the second request is a request of its own that found nothing failed;
    # with one, both answers are the first request (one of them a repeat).
    expected = [(0, True), (3, True)] if key is None else [(3, False), (3, True)]
    assert sorted(results) == expected
    assert ReplayRequest.objects.count() == (2 if key is None else 1)
    assert {reload(image).status for image in images} == {Status.QUEUED}
    assert len(published.calls) == 1  # one preprocess message for the three, sent once
