"""An accept carries the boxes the reviewer saw (issue 17): the server never takes a missing
`boxes` to mean "the model's boxes", which silently dropped a reviewer's edits. The task page
renders the model's boxes into the form, so a page whose script never ran still says what it
showed; `[]` is an answer (no boxes)."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest

from inspection.models import Detection, Image, ReviewDecision, ReviewTask
from inspection.review import leases
from tests.review_support import make_task

pytestmark = pytest.mark.usefixtures("media_root")


def claimed(facility: Any, user: Any) -> ReviewTask:
    task = make_task(facility)
    assert leases.claim_task(task, user)
    return task


def decide_url(task: ReviewTask) -> str:
    return f"/review/tasks/{task.pk}/decide/"


@pytest.mark.parametrize("fields", [{}, {"boxes": ""}, {"boxes": "  "}])
def test_an_accept_without_boxes_is_refused_and_stores_nothing(
    facility: Any, reviewer: Any, reviewer_client: Any, fields: dict[str, str]
) -> None:
    task = claimed(facility, reviewer)
    answer = reviewer_client.post(decide_url(task), {"verdict": "accepted", **fields}, follow=True)
    assert answer.redirect_chain == [(f"/review/tasks/{task.pk}/", 302)]
    (message,) = [str(m) for m in answer.context["messages"]]
    assert message == (
        "The decision was not stored: The page sent no boxes with the accept; reload the page "
        "and decide again."
    )
    image = Image.objects.get(pk=task.image_id)
    assert (image.status, image.verdict) == ("needs_review", "")
    assert not Detection.objects.filter(image=image, source="reviewer").exists()
    assert not ReviewDecision.objects.exists()
    assert ReviewTask.objects.get(pk=task.pk).status == "claimed"  # still the reviewer's


def rendered_boxes(client: Any, task: ReviewTask) -> str:
    """The accept form's `boxes` value as the page is served (before any script runs)."""
    page = client.get(f"/review/tasks/{task.pk}/").content.decode()
    (value,) = re.findall(
        r'<input type="hidden" name="boxes" id="boxes-field" value="([^"]*)">', page
    )
    return html.unescape(value)


def test_a_page_without_script_accepts_the_boxes_it_shows(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    task = claimed(facility, reviewer)
    shown = rendered_boxes(reviewer_client, task)
    assert sorted(json.loads(shown), key=lambda box: box["class_id"]) == [
        {"class_id": 0, "box": [20.0, 30.0, 120.0, 150.0]},
        {"class_id": 1, "box": [150.0, 40.0, 250.0, 90.0]},
    ]
    reviewer_client.post(decide_url(task), {"verdict": "accepted", "boxes": shown})
    decision = ReviewDecision.objects.get(task=task)
    assert (decision.action, decision.changed) == ("accept", False)
    image = Image.objects.get(pk=task.image_id)
    stored = sorted(d.as_box() for d in image.final_detections())
    assert stored == sorted(d.as_box() for d in image.model_detections())


def test_an_empty_list_accepts_no_boxes(facility: Any, reviewer: Any, reviewer_client: Any) -> None:
    task = claimed(facility, reviewer)
    reviewer_client.post(decide_url(task), {"verdict": "accepted", "boxes": "[]"})
    image = Image.objects.get(pk=task.image_id)
    assert image.verdict == "accepted" and image.final_detections() == []
    decision = ReviewDecision.objects.get(task=task)
    assert (decision.action, decision.changed_classes) == ("correct", ["label", "parcel"])


def test_a_reject_needs_no_boxes_and_ignores_any_sent(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    task = claimed(facility, reviewer)
    fields = {"verdict": "rejected", "reason": "no_package", "boxes": "not even json"}
    reviewer_client.post(decide_url(task), fields)
    image = Image.objects.get(pk=task.image_id)
    assert (image.status, image.reason) == ("rejected", "no_package")
    assert image.final_detections() == []
    assert ReviewDecision.objects.get(task=task).action == "reject"
