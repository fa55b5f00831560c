"""The review pages: the queue with its filters, counts and age; the task page with its boxes,
reasons and quality; the image turned like its boxes; the stats page; creating reviewers."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from PIL import Image as PillowImage

from inspection.models import FacilityMembership
from inspection.review import leases
from inspection.review.boxes import parse_boxes
from inspection.review.decisions import DecisionRequest, decide
from inspection.review.selectors import decisions_since, override_by_class, reviewer_stats
from tests import images
from tests.review_support import make_member, make_task

pytestmark = pytest.mark.usefixtures("media_root")


def test_the_queue_lists_tasks_with_counts_and_the_oldest_age(
    facility: Any, reviewer_client: Any
) -> None:
    make_task(facility, name="old.jpg", created_at=timezone.now() - timedelta(hours=3))
    make_task(facility, name="dark.jpg", reasons=["quality:too_dark"])
    page = reviewer_client.get("/review/").content.decode()
    assert "old.jpg" in page and "dark.jpg" in page
    assert "<strong>2</strong> waiting at dc-north" in page and "3\xa0hours" in page
    filtered = reviewer_client.get("/review/", {"reason": "quality"}).content.decode()
    assert "dark.jpg" in filtered and "old.jpg" not in filtered


def test_the_next_task_button_claims_and_opens_the_task(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    task = make_task(facility)
    answer = reviewer_client.post("/review/next/", {"reason": "low_confidence"})
    assert answer.url == f"/review/tasks/{task.pk}/"
    page = reviewer_client.get(answer.url)
    assert page.context["held"] and b'id="accept-form"' in page.content


def test_the_task_page_carries_boxes_reasons_and_quality(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    task = make_task(facility, reasons=["low_confidence:parcel", "quality:too_dark"])
    leases.claim_task(task, reviewer)
    page = reviewer_client.get(f"/review/tasks/{task.pk}/")
    data = page.context["data"]
    assert data["classes"] == ["parcel", "label", "damage"]
    assert data["editable"] and data["lease_expires_at"]
    content = page.content.decode()
    assert "Low confidence: parcel (below 0.50)" in content and "Quality: too dark" in content
    assert "brightness" in content
    assert 'id="task-data"' in content and "review/task.js" in content


def test_the_image_is_served_turned_like_its_boxes(facility: Any, reviewer_client: Any) -> None:
    # Stored 640x480 with EXIF orientation 6; width/height (and boxes) are the upright 480x640.
    task = make_task(facility, data=images.exif_rotated_jpeg(6), size=(480, 640))
    answer = reviewer_client.get(f"/review/images/{task.image_id}/image.jpg")
    picture = PillowImage.open(io.BytesIO(answer.content))
    assert picture.size == (480, 640)
    red = picture.convert("RGB").getpixel((440, 40))  # the stored top-left marker, turned
    assert isinstance(red, tuple) and red[0] > 200 and red[1] < 80


def test_stats_count_decisions_times_and_overrides_per_class(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    for fixed in (None, [{"class_id": 0, "box": [20, 30, 120, 150]}]):
        task = make_task(facility)
        leases.claim_task(task, reviewer)
        boxes = parse_boxes(json.dumps(fixed), task.image) if fixed else None
        decide(task, reviewer, DecisionRequest("accepted", boxes))
    decisions = decisions_since(facility.__class__.objects.all(), timezone.now() - timedelta(1))
    (row,) = reviewer_stats(decisions)
    assert (row.reviewer, row.done, row.changed, row.override_rate) == ("rita", 2, 1, 0.5)
    assert row.median_seconds is not None and row.median_seconds >= 0
    rates = {c.class_name: (c.decisions, c.overridden) for c in override_by_class(decisions)}
    assert rates == {"label": (2, 1), "parcel": (2, 0)}
    page = reviewer_client.get("/review/stats/").content.decode()
    assert "rita" in page and "50%" in page


def test_create_reviewer_gives_a_role_at_a_facility(facility: Any, capsys: Any) -> None:
    call_command("create_reviewer", "--username", "nina", "--facility", facility.slug)
    membership = FacilityMembership.objects.get(user__username="nina")
    assert (membership.facility, membership.role) == (facility, "reviewer")
    password = capsys.readouterr().out.strip().splitlines()[-1]
    assert membership.user.check_password(password)
    call_command(
        "create_reviewer", "--username", "nina", "--facility", facility.slug, "--role", "viewer"
    )
    assert FacilityMembership.objects.get(user__username="nina").role == "viewer"


def test_the_user_admin_edits_facility_roles(facility: Any, admin_client: Any) -> None:
    user = make_member("omar", facility)
    page = admin_client.get(f"/admin/auth/user/{user.pk}/change/").content.decode()
    assert "facility role" in page.lower()
