"""The reviewer's tools on the server side: skip (the task goes back and a different one comes),
undo of the last decision (its own audit row, the image and task back, refused once
`batch.reviewed` is announced), the task's history on the page, thresholds and reasons shown
next to the model, uncertain boxes first, and the Content-Security-Policy header."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from inspection.models import (
    Batch,
    Detection,
    Image,
    ReviewDecision,
    ReviewTask,
    ThresholdPolicy,
    ThresholdSource,
    WebhookDelivery,
)
from inspection.review import leases
from inspection.review.decisions import DecisionRefused, DecisionRequest, decide
from inspection.review.selectors import decisions_since, reviewer_stats
from inspection.review.undo import UNDO_SECONDS, undo, why_not
from inspection.ui.csp import HEADER, POLICY
from tests.review_support import Box, boxes_json, make_member, make_task, next_claimed

pytestmark = pytest.mark.usefixtures("media_root")


def accept(client: Any, task: ReviewTask, **fields: Any) -> Any:
    body = {"verdict": "accepted", "boxes": boxes_json(), **fields}
    return client.post(f"/review/tasks/{task.pk}/decide/", body)


# --- skip -------------------------------------------------------------------------------------


def test_skip_gives_the_task_back_and_brings_a_different_one(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    first = make_task(facility, boxes=[(0, 0.1, [1, 1, 50, 50])])
    second = make_task(facility, boxes=[(0, 0.2, [1, 1, 50, 50])])
    assert reviewer_client.post("/review/next/").url == f"/review/tasks/{first.pk}/"
    answer = reviewer_client.post(f"/review/tasks/{first.pk}/skip/")
    assert answer.url == f"/review/tasks/{second.pk}/"  # not the same task again
    stored = ReviewTask.objects.get(pk=first.pk)
    assert (stored.status, stored.claimed_by) == ("open", None)  # back in the queue for others
    # Deciding the second does not bring the skipped one straight back either...
    assert accept(reviewer_client, second).url == "/review/"
    # ...until nothing else is left: then "Next task" offers it again.
    assert reviewer_client.post("/review/next/").url == f"/review/tasks/{first.pk}/"


def test_skipping_the_last_task_says_so_and_frees_it(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    only = make_task(facility)
    reviewer_client.post("/review/next/")
    answer = reviewer_client.post(f"/review/tasks/{only.pk}/skip/", follow=True)
    assert answer.redirect_chain[-1][0] == "/review/"
    assert "the tasks you skipped are back in the queue" in answer.content.decode()
    assert next_claimed(make_member("carl", facility)).pk == only.pk


# --- undo -------------------------------------------------------------------------------------


def test_undo_appends_its_own_row_and_gives_the_task_back_to_its_reviewer(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    task = make_task(facility, name="undone.jpg")
    following = make_task(facility, boxes=[(0, 0.9, [1, 1, 50, 50])])
    reviewer_client.post("/review/next/")
    fixed = '[{"class_id": 2, "box": [20, 30, 120, 150]}]'
    assert accept(reviewer_client, task, boxes=fixed).url == f"/review/tasks/{following.pk}/"
    page = reviewer_client.get(f"/review/tasks/{following.pk}/").content.decode()
    assert 'id="undo-form"' in page and "Correct: undone.jpg" in page  # offered on the next task

    answer = reviewer_client.post("/review/undo/")

    assert answer.url == f"/review/tasks/{task.pk}/"
    decided, undone = ReviewDecision.objects.filter(task=task).order_by("pk")
    assert (decided.action, undone.action, undone.undoes) == ("correct", "undo", decided)
    assert undone.before == decided.after and undone.after["status"] == "needs_review"
    image = Image.objects.get(pk=task.image_id)
    assert (image.status, image.verdict, image.reviewed_by) == ("needs_review", "", None)
    assert not Detection.objects.filter(image=image, source="reviewer").exists()
    assert Detection.objects.filter(image=image, source="model").count() == 2
    stored = ReviewTask.objects.get(pk=task.pk)
    assert (stored.status, stored.claimed_by, stored.completed_at) == ("claimed", reviewer, None)
    assert ReviewTask.objects.get(pk=following.pk).status == "open"  # one task at a time
    # Neither row counts as a decision in the stats; deciding again does, once.
    accept(reviewer_client, task)
    since = timezone.now() - timedelta(hours=1)
    (row,) = reviewer_stats(decisions_since(facility.__class__.objects.all(), since))
    assert (row.done, row.changed) == (1, 0)
    assert ReviewDecision.objects.filter(task=task).count() == 3  # append-only


def test_undo_is_refused_after_the_window_by_others_and_twice(facility: Any, reviewer: Any) -> None:
    task = make_task(facility)
    leases.claim_task(task, reviewer)
    decision = decide(task, reviewer, DecisionRequest("rejected", reason="other"))
    with pytest.raises(DecisionRefused, match="Only the reviewer"):
        undo([decision], make_member("carl", facility))
    undo([decision], reviewer)
    with pytest.raises(DecisionRefused, match="already been undone"):
        undo([decision], reviewer)
    later = make_task(facility)
    leases.claim_task(later, reviewer)
    old = decide(later, reviewer, DecisionRequest("rejected", reason="other"))
    in_time = old.decided_at + timedelta(seconds=UNDO_SECONDS - 1)
    too_late = old.decided_at + timedelta(seconds=UNDO_SECONDS + 1)
    assert why_not(old, reviewer, in_time) == ""
    assert why_not(old, reviewer, too_late).startswith("Too late to undo")


@pytest.mark.usefixtures("loopback_allowed")
def test_undo_is_refused_once_batch_reviewed_is_announced(
    facility: Any, reviewer: Any, reviewer_client: Any, key: Any
) -> None:
    task = make_task(facility)
    Batch.objects.filter(pk=task.image.batch_id).update(api_key=key)  # its webhook: a receiver
    reviewer_client.post("/review/next/")
    accept(reviewer_client, task)
    assert WebhookDelivery.objects.filter(event="batch.reviewed").exists()
    answer = reviewer_client.post("/review/undo/", follow=True)
    assert "integrator is being told its results (batch.reviewed)" in answer.content.decode()
    assert Image.objects.get(pk=task.image_id).status == "accepted"
    assert ReviewDecision.objects.filter(action="undo").count() == 0


# --- what the task page shows -----------------------------------------------------------------


def test_the_task_page_shows_its_history_with_comments(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    task = make_task(facility)
    reviewer_client.post("/review/next/")
    reviewer_client.post(
        f"/review/tasks/{task.pk}/decide/",
        {"verdict": "rejected", "reason": "ambiguous", "comment": "two labels overlap"},
    )
    reviewer_client.post("/review/undo/")
    page = reviewer_client.get(f"/review/tasks/{task.pk}/").content.decode()
    history = page[page.index('id="history"') :]
    assert "<strong>Reject</strong> (ambiguous)" in history
    assert "<blockquote>two labels overlap</blockquote>" in history
    assert "<strong>Undo</strong>" in history


def test_boxes_that_caused_the_review_come_first_with_their_thresholds(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    boxes: list[Box] = [
        (1, 0.95, [150, 40, 250, 90]),  # label, above 0.5
        (2, 0.58, [10, 10, 60, 60]),  # damage, below its 0.6
        (0, 0.45, [20, 30, 120, 150]),  # parcel, below 0.5
        (0, 0.52, [30, 30, 90, 90]),  # parcel, above
    ]
    task = make_task(
        facility, boxes=boxes, reasons=["low_confidence:damage", "low_confidence:parcel"]
    )
    leases.claim_task(task, reviewer)
    data = reviewer_client.get(f"/review/tasks/{task.pk}/").context["data"]
    shown = [(b["class_name"], b["confidence"], b["threshold"], b["below"]) for b in data["boxes"]]
    assert shown == [
        ("parcel", 0.45, 0.5, True),
        ("damage", 0.58, 0.6, True),
        ("parcel", 0.52, 0.5, False),
        ("label", 0.95, 0.5, False),
    ]


def test_the_model_line_says_whether_thresholds_were_calibrated(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    manual = make_task(facility)
    page = reviewer_client.get(f"/review/tasks/{manual.pk}/").content.decode()
    assert "thresholds: uncalibrated (set per class by an operator)" in page

    none_yet = make_task(facility, reasons=["no_thresholds"])
    Image.objects.filter(pk=none_yet.image_id).update(threshold_source=ThresholdSource.REVIEW_ALL)
    page = reviewer_client.get(f"/review/tasks/{none_yet.pk}/").content.decode()
    assert "The model has no thresholds yet: everything goes to review" in page
    assert "thresholds: none yet (every image goes to review)" in page

    calibrated = make_task(facility)
    policy = ThresholdPolicy.objects.create(
        facility=facility,
        model_version=calibrated.image.model_version,
        version=3,
        source=ThresholdSource.CALIBRATED,
        default_threshold=0.4,
        is_active=False,
    )
    Image.objects.filter(pk=calibrated.image_id).update(
        policy=policy, threshold_source="calibrated"
    )
    leases.claim_task(calibrated, reviewer)
    answer = reviewer_client.get(f"/review/tasks/{calibrated.pk}/")
    assert "thresholds: calibrated on labelled data, policy v3" in answer.content.decode()
    assert {b["threshold"] for b in answer.context["data"]["boxes"]} == {0.4}


# --- Content-Security-Policy ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/review/", "/accounts/login/", "/admin/login/", "/api/v1/docs/", "/healthz"]
)
def test_every_page_carries_the_content_security_policy(client: Any, db: None, path: str) -> None:
    answer = client.get(path)
    assert answer[HEADER] == POLICY
    assert "script-src 'self'" in POLICY and "unsafe-inline" not in POLICY
