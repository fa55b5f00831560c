"""The web's /metrics: gauges of shared state read from the broker and the database at scrape
time (queue depth, backlog, override rate, images in flight), and request metrics."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from inspection.models import Facility, Image, ReviewDecision, ReviewTask
from inspection.observability import broker
from inspection.review.selectors import decisions_since, reviewer_stats
from tests.workers import add_image, empty_batch

pytestmark = pytest.mark.django_db


def scrape(client: Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = client.get("/metrics").content.decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_queue_depth_counts_every_priority_list(
    client: Client, redis_queues: redis.Redis, settings: object
) -> None:
    redis_queues.lpush("gpu", "a", "b")
    redis_queues.lpush(broker.queue_keys("gpu")[2], "c")
    redis_queues.lpush("cpu", "d")
    found = scrape(client)
    assert found[("inspection_queue_depth", frozenset({("queue", "gpu")}))] == 3
    assert found[("inspection_queue_depth", frozenset({("queue", "cpu")}))] == 1


def test_review_backlog_age_override_rate_and_images_in_flight(
    client: Client, facility: Facility, media_root: object, redis_queues: redis.Redis
) -> None:
    batch = empty_batch(facility)
    waiting = add_image(batch, b"x", "a.jpg", status=Image.Status.NEEDS_REVIEW)
    add_image(batch, b"y", "b.jpg", status=Image.Status.PREPROCESSED)
    task = ReviewTask.objects.create(
        image=waiting, facility=facility, created_at=timezone.now() - timedelta(hours=2)
    )
    ReviewDecision.objects.create(
        task=task,
        image=waiting,
        facility=facility,
        decided_by=User.objects.create_user("r"),
        action="correct",
        verdict="accepted",
        before={},
        after={},
        changed=True,
    )
    found = scrape(client)
    north = frozenset({("facility", "dc-north")})
    assert found[("inspection_review_backlog", north)] == 1
    assert found[("inspection_review_oldest_age_seconds", north)] >= 7200
    assert found[("inspection_review_override_ratio", north)] == 1.0
    assert found[("inspection_review_decisions_recent", north)] == 1
    assert found[("inspection_images_unfinished", frozenset({("status", "preprocessed")}))] == 1


def test_the_override_gauges_count_the_decisions_that_stand_as_the_stats_page_does(
    client: Client, facility: Facility, media_root: object, redis_queues: redis.Redis
) -> None:
    reviewer = User.objects.create_user("r")
    batch = empty_batch(facility)
    rows = []
    for name, changed in (("a.jpg", True), ("b.jpg", False), ("c.jpg", True)):
        image = add_image(batch, b"x", name, status=Image.Status.ACCEPTED)
        task = ReviewTask.objects.create(image=image, facility=facility)
        rows.append(
            ReviewDecision.objects.create(
                task=task, image=image, facility=facility, decided_by=reviewer,
                action="correct" if changed else "accept", verdict="accepted",
                before={}, after={}, changed=changed,
            )
        )  # fmt: skip
    taken_back = rows[2]
    ReviewDecision.objects.create(
        task=taken_back.task, image=taken_back.image, facility=facility, decided_by=reviewer,
        action="undo", before={}, after={}, undoes=taken_back,
    )  # fmt: skip
    found = scrape(client)
    north = frozenset({("facility", "dc-north")})
    # Two decisions stand (the undone one and its undo row are left out), one of them changed.
    assert found[("inspection_review_decisions_recent", north)] == 2
    assert found[("inspection_review_override_ratio", north)] == 0.5
    since = timezone.now() - timedelta(days=1)
    [stats] = reviewer_stats(decisions_since(Facility.objects.all(), since))
    assert (stats.done, stats.override_rate) == (2, 0.5)


def test_requests_are_counted_by_route_and_status(client: Client) -> None:
    client.get("/healthz")
    client.get("/no/such/page")
    found = scrape(client)
    ok = frozenset({("method", "GET"), ("view", "healthz"), ("status", "200")})
    missing = frozenset({("method", "GET"), ("view", "unmatched"), ("status", "404")})
    assert found[("inspection_http_requests_total", ok)] >= 1
    assert found[("inspection_http_requests_total", missing)] >= 1
