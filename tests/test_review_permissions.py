"""Who sees what: anonymous users sign in first; reviewers see only their facilities (a
foreign task, image or export is a 404, exactly like a missing one); viewers look but do not
decide."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client

from inspection.models import ExportJob, ReviewTask
from inspection.review import leases
from tests.review_support import PASSWORD, make_member, make_task

pytestmark = pytest.mark.usefixtures("media_root")


def pages_of(task: ReviewTask) -> list[str]:
    return [f"/review/tasks/{task.pk}/", f"/review/images/{task.image_id}/image.jpg"]


def actions_of(task: ReviewTask) -> list[str]:
    base = f"/review/tasks/{task.pk}/"
    return [f"{base}claim/", f"{base}decide/", f"{base}renew/", f"{base}release/"]


@pytest.mark.parametrize(
    "url", ["/review/", "/review/stats/", "/review/exports/", "/review/tasks/1/"]
)
def test_anonymous_users_are_sent_to_sign_in(client: Client, url: str, db: None) -> None:
    answer = client.get(url)
    assert answer.status_code == 302
    assert answer["Location"].startswith(f"/accounts/login/?next={url}")


def test_signing_in_leads_to_the_queue(client: Client, reviewer: Any) -> None:
    answer = client.post("/accounts/login/", {"username": "rita", "password": PASSWORD})
    assert answer.status_code == 302 and answer["Location"] == "/review/"
    assert client.get("/review/").status_code == 200


def test_anonymous_image_requests_never_get_the_picture(client: Client, facility: Any) -> None:
    task = make_task(facility)
    answer = client.get(f"/review/images/{task.image_id}/image.jpg")
    assert answer.status_code == 302 and answer["Content-Type"] != "image/jpeg"


def test_outsiders_get_404_for_a_foreign_task_and_its_image(
    client: Client, facility: Any, outsider: Any
) -> None:
    task = make_task(facility)
    client.force_login(outsider)
    for url in pages_of(task):
        assert client.get(url).status_code == 404, url
    for url in actions_of(task):
        assert client.post(url, {"verdict": "accepted"}).status_code == 404, url
    assert ReviewTask.objects.get(pk=task.pk).status == "open"


def test_a_missing_task_looks_like_a_foreign_one(client: Client, outsider: Any) -> None:
    client.force_login(outsider)
    assert client.get("/review/tasks/999999/").status_code == 404
    assert client.get(f"/review/images/{uuid.uuid4()}/image.jpg").status_code == 404
    assert client.get("/review/images/not-a-uuid/image.jpg").status_code == 404


def test_outsiders_never_see_foreign_tasks_in_the_queue(
    client: Client, facility: Any, outsider: Any
) -> None:
    make_task(facility, name="north-only.jpg")
    client.force_login(outsider)
    assert b"north-only.jpg" not in client.get("/review/").content
    assert leases.claim_next(outsider) is None


def test_outsiders_get_404_for_a_foreign_export(
    client: Client, facility: Any, reviewer: Any, outsider: Any
) -> None:
    job = ExportJob.objects.create(
        facility=facility,
        format="coco",
        date_from="2026-01-01",
        date_to="2026-01-02",
        status="done",
        file_key="exports/x.json",
    )
    client.force_login(outsider)
    assert client.get(f"/review/exports/{job.pk}/download/").status_code == 404
    assert str(job.pk) not in client.get("/review/exports/").content.decode()


def test_the_member_sees_the_task_and_its_image(facility: Any, reviewer_client: Client) -> None:
    task = make_task(facility, name="mine.jpg")
    page = reviewer_client.get(f"/review/tasks/{task.pk}/")
    assert page.status_code == 200 and b"mine.jpg" in page.content
    picture = reviewer_client.get(f"/review/images/{task.image_id}/image.jpg")
    assert picture.status_code == 200 and picture["Content-Type"] == "image/jpeg"
    assert "private" in picture["Cache-Control"]


def test_viewers_can_look_but_not_claim_or_decide(client: Client, facility: Any) -> None:
    task = make_task(facility)
    client.force_login(make_member("vera", facility, role="viewer"))
    assert client.get(f"/review/tasks/{task.pk}/").status_code == 200
    assert client.post(f"/review/tasks/{task.pk}/claim/").status_code == 403
    assert (
        client.post(f"/review/tasks/{task.pk}/decide/", {"verdict": "accepted"}).status_code == 403
    )
    client.post("/review/next/")
    assert ReviewTask.objects.get(pk=task.pk).status == "open"
    assert client.post("/review/exports/", {"facility": facility.slug}).status_code == 200
    assert not ExportJob.objects.exists()


def test_an_undecodable_upload_is_a_404_not_an_error(
    facility: Any, reviewer_client: Client
) -> None:
    task = make_task(facility, data=b"not an image at all")
    assert reviewer_client.get(f"/review/images/{task.image_id}/image.jpg").status_code == 404


def test_superusers_see_and_review_every_facility_without_membership(
    client: Client, facility: Any, django_user_model: Any
) -> None:
    task = make_task(facility)
    operator = django_user_model.objects.create_superuser("ops", "ops@example.com", PASSWORD)
    client.force_login(operator)
    assert str(task.image.original_name) in client.get("/review/").content.decode()
    for url in pages_of(task):
        assert client.get(url).status_code == 200, url
    assert client.post(f"/review/tasks/{task.pk}/claim/").status_code in (200, 302)
    assert ReviewTask.objects.get(pk=task.pk).claimed_by == operator
