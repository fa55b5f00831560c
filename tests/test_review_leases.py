"""Claiming review tasks: queue order, leases that expire, renew and release, and concurrent
claims with exactly one winner."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from inspection.models import ReviewTask
from inspection.review import leases
from inspection.review.decisions import DecisionRefused, DecisionRequest, decide
from inspection.review.selectors import QueueFilters
from tests.review_support import make_member, make_task, next_claimed

pytestmark = pytest.mark.usefixtures("media_root")


def expire(task: ReviewTask) -> None:
    ReviewTask.objects.filter(pk=task.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )


def test_next_task_is_lowest_confidence_first_then_oldest(facility: Any, reviewer: Any) -> None:
    now = timezone.now()
    sure = make_task(
        facility, boxes=[(0, 0.45, [1, 1, 50, 50])], created_at=now - timedelta(hours=2)
    )
    newer = make_task(facility, boxes=[(0, 0.2, [1, 1, 50, 50])], created_at=now)
    older = make_task(
        facility, boxes=[(0, 0.2, [1, 1, 50, 50])], created_at=now - timedelta(hours=1)
    )
    empty = make_task(facility, boxes=[], reasons=["no_detections"], created_at=now)
    order = []
    for _ in range(4):
        task = next_claimed(reviewer)
        order.append(task.pk)
        leases.release(task, reviewer)
        ReviewTask.objects.filter(pk=task.pk).update(status=ReviewTask.Status.DONE)
    assert order == [empty.pk, older.pk, newer.pk, sure.pk]


def test_next_task_hands_back_the_task_already_held(facility: Any, reviewer: Any) -> None:
    make_task(facility)
    make_task(facility)
    first = next_claimed(reviewer)
    assert next_claimed(reviewer).pk == first.pk
    assert first.claimed_by == reviewer
    assert first.lease_expires_at is not None and first.lease_expires_at > timezone.now()


def test_a_held_task_is_skipped_for_other_reviewers(facility: Any, reviewer: Any) -> None:
    held = make_task(facility, boxes=[(0, 0.1, [1, 1, 50, 50])])
    other = make_task(facility, boxes=[(0, 0.3, [1, 1, 50, 50])])
    assert next_claimed(reviewer).pk == held.pk
    colleague = make_member("carl", facility)
    assert next_claimed(colleague).pk == other.pk
    assert leases.claim_next(make_member("dora", facility)) is None


def test_an_expired_lease_passes_the_task_on_and_the_first_holder_cannot_decide(
    facility: Any, reviewer: Any
) -> None:
    make_task(facility)
    task = next_claimed(reviewer)
    expire(task)
    colleague = make_member("carl", facility)
    taken = next_claimed(colleague)
    assert taken.pk == task.pk and taken.claimed_by == colleague
    assert not leases.renew(task, reviewer)
    with pytest.raises(DecisionRefused):
        decide(task, reviewer, DecisionRequest("accepted"))
    assert ReviewTask.objects.get(pk=task.pk).status == ReviewTask.Status.CLAIMED


def test_renewal_extends_the_lease(facility: Any, reviewer: Any, settings: Any) -> None:
    settings.REVIEW_LEASE_SECONDS = 60
    make_task(facility)
    task = next_claimed(reviewer)
    settings.REVIEW_LEASE_SECONDS = 600
    assert leases.renew(task, reviewer)
    stored = ReviewTask.objects.get(pk=task.pk)
    assert stored.lease_expires_at is not None
    assert stored.lease_expires_at > timezone.now() + timedelta(seconds=500)


def test_renew_endpoint_answers_409_once_the_task_is_someone_elses(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    make_task(facility)
    task = next_claimed(reviewer)
    url = f"/review/tasks/{task.pk}/renew/"
    answer = reviewer_client.post(url)
    assert answer.status_code == 200 and answer.json()["held"] is True
    expire(task)
    leases.claim_next(make_member("carl", facility))
    assert reviewer_client.post(url).status_code == 409


def test_release_reopens_the_task(facility: Any, reviewer: Any, reviewer_client: Any) -> None:
    make_task(facility)
    task = next_claimed(reviewer)
    answer = reviewer_client.post(f"/review/tasks/{task.pk}/release/")
    assert answer.status_code == 302 and answer.url == "/review/"
    stored = ReviewTask.objects.get(pk=task.pk)
    assert (stored.status, stored.claimed_by, stored.lease_expires_at) == ("open", None, None)


def test_leaving_the_page_keeps_the_task_a_few_seconds_only(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    make_task(facility)
    task = next_claimed(reviewer)
    answer = reviewer_client.post(f"/review/tasks/{task.pk}/leave/")
    assert answer.status_code == 204
    stored = ReviewTask.objects.get(pk=task.pk)
    assert stored.lease_expires_at is not None
    left = (stored.lease_expires_at - timezone.now()).total_seconds()
    assert stored.claimed_by == reviewer and 0 < left <= leases.LEAVE_GRACE_SECONDS
    # Coming straight back (a reload) renews it; the grace never extends a lease.
    assert reviewer_client.post(f"/review/tasks/{task.pk}/renew/").json()["held"] is True
    renewed = ReviewTask.objects.get(pk=task.pk).lease_expires_at
    assert renewed is not None
    assert renewed > timezone.now() + timedelta(seconds=leases.LEAVE_GRACE_SECONDS)
    expire(task)
    assert not leases.leave(ReviewTask.objects.get(pk=task.pk), reviewer)


def test_the_heartbeat_says_why_the_task_is_no_longer_yours(
    facility: Any, reviewer: Any, reviewer_client: Any, client: Any
) -> None:
    make_task(facility)
    task = next_claimed(reviewer)
    url = f"/review/tasks/{task.pk}/renew/"
    expire(task)
    leases.claim_next(make_member("carl", facility))
    answer = reviewer_client.post(url, HTTP_ACCEPT="application/json")
    assert answer.status_code == 409
    assert answer.json()["message"] == "This task is no longer yours: carl is reviewing it."
    reviewer_client.logout()
    signed_out = reviewer_client.post(url, HTTP_ACCEPT="application/json")
    assert signed_out.status_code == 401
    assert (
        signed_out.json()["login_url"] == f"/accounts/login/?next=%2Freview%2Ftasks%2F{task.pk}%2F"
    )


def test_release_by_someone_else_changes_nothing(facility: Any, reviewer: Any) -> None:
    make_task(facility)
    task = next_claimed(reviewer)
    assert not leases.release(task, make_member("carl", facility))
    assert ReviewTask.objects.get(pk=task.pk).claimed_by == reviewer


def test_next_task_follows_the_queue_filters(
    facility: Any, other_facility: Any, reviewer: Any
) -> None:
    dark = make_task(facility, boxes=[(2, 0.9, [1, 1, 50, 50])], reasons=["quality:too_dark"])
    unsure = make_task(facility, boxes=[(0, 0.1, [1, 1, 50, 50])])
    assert next_claimed(reviewer, QueueFilters(reason="quality")).pk == dark.pk
    leases.release(dark, reviewer)
    assert next_claimed(reviewer, QueueFilters(class_name="damage")).pk == dark.pk
    leases.release(dark, reviewer)
    assert next_claimed(reviewer, QueueFilters(reason="low_confidence")).pk == unsure.pk
    leases.release(unsure, reviewer)
    assert leases.claim_next(reviewer, QueueFilters(facility=other_facility.slug)) is None


def claim_together(reviewers: list[Any]) -> list[int | None]:
    """Each reviewer asks for the next task in its own thread (own connection), all at once."""
    barrier = threading.Barrier(len(reviewers))
    won: list[int | None] = []

    def claim(user: Any) -> None:
        try:
            barrier.wait()
            task = leases.claim_next(user)
            won.append(task.pk if task else None)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(user,)) for user in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(won) == len(reviewers)
    return won


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent row locks need PostgreSQL"
)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_task_have_one_winner(facility: Any, media_root: Any) -> None:
    only = make_task(facility)
    reviewers = [make_member(f"r{n}", facility) for n in range(6)]
    won = claim_together(reviewers)
    assert won.count(only.pk) == 1 and won.count(None) == 5
    assert ReviewTask.objects.get(pk=only.pk).claimed_by in reviewers


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_reviewers_take_different_tasks(facility: Any, media_root: Any) -> None:
    tasks = [make_task(facility, boxes=[(0, 0.1 * n + 0.1, [1, 1, 50, 50])]) for n in range(4)]
    won = claim_together([make_member(f"r{n}", facility) for n in range(4)])
    assert sorted(pk for pk in won if pk is not None) == sorted(task.pk for task in tasks)
