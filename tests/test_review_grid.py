"""Grid mode on the server: only tasks whose every reason is low confidence, claimed under leases
like single mode, accepted together with one decision (and audit row) per image, the time
shared; anything else posted is refused."""

from __future__ import annotations

from typing import Any

import pytest

from inspection.models import Image, ReviewDecision, ReviewTask
from inspection.review import grid, leases
from inspection.review.selectors import QueueFilters
from tests.review_support import make_member, make_task, next_claimed

pytestmark = pytest.mark.usefixtures("media_root")

LOW = ["low_confidence:parcel"]


def test_the_grid_takes_only_low_confidence_only_tasks_under_leases(
    facility: Any, reviewer: Any
) -> None:
    plain = make_task(facility, reasons=LOW)
    two_classes = make_task(facility, reasons=["low_confidence:damage", "low_confidence:parcel"])
    make_task(facility, reasons=["low_confidence:parcel", "quality:too_dark"])
    make_task(facility, reasons=["no_detections"], boxes=[])
    make_task(facility, reasons=["no_thresholds"])
    tasks = grid.grid_tasks(reviewer, QueueFilters())
    assert sorted(task.pk for task in tasks) == sorted([plain.pk, two_classes.pk])
    assert {(task.status, task.claimed_by) for task in tasks} == {("claimed", reviewer)}
    colleague = make_member("carl", facility)
    assert grid.grid_tasks(colleague, QueueFilters()) == []  # held: nobody else gets them
    assert next_claimed(colleague).reasons != LOW


def test_accepting_the_selection_writes_one_decision_per_image(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    tasks = [make_task(facility, reasons=LOW, name=f"{n}.jpg") for n in range(3)]
    page = reviewer_client.get("/review/grid/")
    assert [tile["task_id"] for tile in page.context["tiles"]] == [t.pk for t in tasks]
    chosen = [tasks[0].pk, tasks[2].pk]
    answer = reviewer_client.post("/review/grid/accept/", {"task": chosen})
    assert answer.url == "/review/grid/"
    decisions = ReviewDecision.objects.filter(task_id__in=chosen)
    assert sorted(d.task_id for d in decisions) == chosen
    assert {(d.action, d.verdict, d.decided_by) for d in decisions} == {
        ("accept", "accepted", reviewer)
    }
    times = [d.seconds_spent for d in decisions]
    claimed = ReviewTask.objects.get(pk=chosen[0]).claimed_at
    assert claimed is not None
    half = (decisions[0].decided_at - claimed).total_seconds() / 2 + 0.01
    assert all(t is not None and 0 <= t <= half for t in times)
    assert Image.objects.get(pk=tasks[0].image_id).final_detections()[0].source == "reviewer"
    left = ReviewTask.objects.get(pk=tasks[1].pk)
    assert (left.status, left.claimed_by) == ("claimed", reviewer)  # unselected: still theirs
    # The next grid keeps it and the undo offer covers the two accepts.
    page = reviewer_client.get("/review/grid/")
    assert [tile["task_id"] for tile in page.context["tiles"]] == [tasks[1].pk]
    assert "Accepted 2 images" in page.content.decode()
    assert reviewer_client.post("/review/undo/").url == "/review/grid/"
    assert ReviewDecision.objects.filter(action="undo").count() == 2


def test_the_grid_refuses_tasks_it_would_not_show(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    dark = make_task(facility, reasons=["low_confidence:parcel", "quality:too_dark"])
    leases.claim_task(dark, reviewer)  # held, but not a grid task
    answer = reviewer_client.post("/review/grid/accept/", {"task": [dark.pk]}, follow=True)
    assert "no longer yours or not grid images" in answer.content.decode()
    assert not ReviewDecision.objects.exists()


def test_the_grid_heartbeat_names_the_tasks_that_are_gone(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    kept, lost = (make_task(facility, reasons=LOW) for _ in range(2))
    grid.grid_tasks(reviewer, QueueFilters())
    ReviewTask.objects.filter(pk=lost.pk).update(status="open", claimed_by=None)
    leases.claim_task(ReviewTask.objects.get(pk=lost.pk), make_member("carl", facility))
    answer = reviewer_client.post(
        "/review/grid/renew/", {"task": [kept.pk, lost.pk]}, HTTP_ACCEPT="application/json"
    )
    assert answer.json()["lost"] == [lost.pk]
