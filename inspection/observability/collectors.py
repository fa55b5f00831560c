"""Gauges of shared state, computed when Prometheus scrapes the web process.

Queue depth, review backlog and worker liveness describe the whole system, not a process: they
are read from the broker and the database at scrape time by the web's /metrics only (never by a
worker exporter), so they are not multiplied by the number of processes. Several web replicas
report the same value; dashboards and alerts aggregate them with max().
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from inspection.learning.drift_gauges import drift_gauges
from inspection.learning.gauges import precision_gauges
from inspection.models import Facility, Image
from inspection.observability import broker, heartbeat
from inspection.pipeline.stages import ROLES, stage_queues
from inspection.review.selectors import QueueFilters, decisions_since, overrides_by, queue_summary

logger = logging.getLogger(__name__)

# The override rate looks at the decisions of the last day (a gauge, read at scrape time).
OVERRIDE_WINDOW = timedelta(days=1)


class StateCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        parts = (
            self._queues,
            self._workers,
            self._images,
            self._reviews,
            self._overrides,
            precision_gauges,
            drift_gauges,
        )
        for part in parts:
            try:
                yield from part()
            except Exception as exc:  # one unreachable source must not blank the others
                logger.warning("metrics: %s unavailable: %r", part.__name__, exc)

    def _queues(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "inspection_queue_depth", "Messages waiting in a broker queue.", labels=["queue"]
        )
        for queue, count in broker.queue_depths(settings.CELERY_BROKER_URL, stage_queues()).items():
            depth.add_metric([queue], count)
        yield depth

    def _workers(self) -> Iterator[Metric]:
        workers = GaugeMetricFamily(
            "inspection_workers_alive", "Workers with a fresh heartbeat.", labels=["role"]
        )
        for role in ROLES:
            workers.add_metric([role.name], len(heartbeat.alive(role.name)))
        yield workers

    def _images(self) -> Iterator[Metric]:
        unfinished = GaugeMetricFamily(
            "inspection_images_unfinished", "Images not yet terminal.", labels=["status"]
        )
        rows = (
            Image.objects.exclude(status__in=Image.TERMINAL)
            .values("status")
            .annotate(n=Count("id"))
        )
        for row in rows:
            unfinished.add_metric([row["status"]], row["n"])
        yield unfinished

    def _reviews(self) -> Iterator[Metric]:
        size = GaugeMetricFamily(
            "inspection_review_backlog", "Review tasks open or claimed.", labels=["facility"]
        )
        age = GaugeMetricFamily(
            "inspection_review_oldest_age_seconds",
            "Age of the oldest review task still open or claimed.",
            labels=["facility"],
        )
        for row in queue_summary(Facility.objects.all(), QueueFilters()):
            size.add_metric([row.facility], row.waiting)
            age.add_metric([row.facility], row.oldest_age.total_seconds() if row.oldest_age else 0)
        yield from (size, age)

    def _overrides(self) -> Iterator[Metric]:
        """The review statistics' override rate (`overrides_by`) over the last day's standing
        decisions (an undone decision and its undo row are left out)."""
        decisions = GaugeMetricFamily(
            "inspection_review_decisions_recent",
            "Review decisions in the last day.",
            labels=["facility"],
        )
        ratio = GaugeMetricFamily(
            "inspection_review_override_ratio",
            "Share of the last day's review decisions that changed the model's answer.",
            labels=["facility"],
        )
        recent = decisions_since(Facility.objects.all(), timezone.now() - OVERRIDE_WINDOW)
        for slug, overrides in overrides_by(recent, "facility__slug").items():
            decisions.add_metric([slug], overrides.decisions)
            ratio.add_metric([slug], overrides.rate)
        yield from (decisions, ratio)
