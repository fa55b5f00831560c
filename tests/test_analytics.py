"""The analytics page: login, scoping to the user's facilities, and what it shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from inspection.models import (
    Batch,
    Detection,
    Facility,
    FacilityMembership,
    Image,
    ModelVersion,
    ReviewDecision,
    ReviewTask,
)

URL = "/analytics/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def model_version(db: None) -> ModelVersion:
    return ModelVersion.objects.create(name="m", version="1", file_path="x.pt", checksum="0")


def add_images(facility: Facility, model: ModelVersion, statuses: dict[str, int]) -> Batch:
    batch = Batch.objects.create(facility=facility)
    position = 0
    for status, count in statuses.items():
        for _ in range(count):
            image = Image.objects.create(
                batch=batch,
                facility=facility,
                position=position,
                status=status,
                reason="too_dark" if status == Image.Status.FAILED else "",
            )
            position += 1
            Detection.objects.create(
                image=image,
                model_version=model,
                class_id=0,
                class_name="parcel",
                confidence=0.35 if status == Image.Status.NEEDS_REVIEW else 0.92,
                x1=0,
                y1=0,
                x2=10,
                y2=10,
            )
            if status == Image.Status.NEEDS_REVIEW:
                ReviewTask.objects.create(
                    image=image,
                    facility=facility,
                    created_at=timezone.now() - timedelta(minutes=30),
                )
    return batch


@pytest.fixture
def member(facility: Facility) -> Client:
    user = User.objects.create_user("reviewer", password="pw")
    FacilityMembership.objects.create(user=user, facility=facility)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def data(facility: Facility, other_facility: Facility, model_version: ModelVersion) -> None:
    add_images(facility, model_version, {"accepted": 6, "needs_review": 3, "failed": 1})
    add_images(other_facility, model_version, {"accepted": 2, "failed": 5})


def test_login_is_required(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert "next=/analytics/" in response["Location"]


def test_a_member_sees_only_their_facilities(member: Client, data: None) -> None:
    response = member.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    context = response.context
    assert [row.facility for row, _ in context["outcomes"]] == ["dc-north"]
    assert context["hourly_total"] == 10
    assert [bar.label for bar in context["reasons"].bars] == ["too_dark"]
    assert [bar.value for bar in context["reasons"].bars] == [1]
    assert "dc-south" not in page
    assert "<svg" in page and "analytics/analytics.css" in page


def test_outcome_shares_confidence_and_backlog(member: Client, data: None) -> None:
    context = member.get(URL, {"facility": "dc-north", "period": "24h"}).context
    row, segments = context["outcomes"][0]
    assert (row.total, row.share("accepted"), row.share("failed")) == (10, 0.6, 0.1)
    assert [segment.name for segment in segments] == [
        "accepted",
        "needs_review",
        "failed",
        "rejected",
    ]
    [(name, chart)] = context["confidence"]
    assert name == "parcel"
    assert [bar.value for bar in chart.bars] == [0, 0, 0, 3, 0, 0, 0, 0, 0, 7]
    [backlog] = context["backlog"]
    assert (backlog.facility, backlog.open) == ("dc-north", 3)
    assert backlog.oldest_age_seconds >= 30 * 60
    assert [line["name"] for line in context["drift"]] == ["parcel"]


def test_a_foreign_facility_is_not_found(member: Client, data: None) -> None:
    assert member.get(URL, {"facility": "dc-south"}).status_code == 404


def test_a_superuser_sees_every_facility(admin_client: Client, data: None) -> None:
    context = admin_client.get(URL).context
    assert [row.facility for row, _ in context["outcomes"]] == ["dc-north", "dc-south"]
    assert context["hourly_total"] == 17


def test_a_user_without_facilities_sees_an_empty_page(client: Client, db: None) -> None:
    client.force_login(User.objects.create_user("nobody", password="pw"))
    response = client.get(URL)
    assert response.status_code == 200
    assert "not a member of any facility" in response.content.decode()


def decide(task: ReviewTask, user: User, changed: bool) -> ReviewDecision:
    return ReviewDecision.objects.create(
        task=task,
        image=task.image,
        facility=task.facility,
        decided_by=user,
        action="correct" if changed else "accept",
        verdict="accepted",
        before={"status": "needs_review", "boxes": []},
        after={"status": "accepted", "boxes": []},
        changed=changed,
    )


def test_override_rate_from_review_decisions(admin_client: Client, data: None) -> None:
    reviewer = User.objects.create_user("r2", password="pw")
    tasks = list(ReviewTask.objects.filter(facility__slug="dc-north"))
    for task, changed in zip(tasks, [True, False, False], strict=True):
        decide(task, reviewer, changed)
    [row] = admin_client.get(URL).context["overrides"]
    assert (row.facility, row.decisions, row.changed) == ("dc-north", 3, 1)
    assert round(row.rate, 3) == 0.333
