"""The measured precision as Prometheus gauges, read at scrape time by the web's /metrics
(observability/collectors.py), per facility, model and class: the same numbers as the thresholds
page and the REST endpoint, from the audits of the last GAUGE_WINDOW (a bounded read per scrape;
the page and the API take every audit)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from inspection.learning.report import ClassReport, precision_report
from inspection.models import Facility

GAUGE_WINDOW = timedelta(days=30)
LABELS = ["facility", "model", "class_name"]
# name, help, value of a row (None: no sample for that row).
GAUGES: tuple[tuple[str, str, Callable[[ClassReport], float | None]], ...] = (
    ("threshold", "The class's threshold now.", lambda r: r.threshold),
    ("target", "The precision its thresholds promise.", lambda r: r.target),
    ("audited_boxes", "Auto-accepted boxes audited (30 days).", lambda r: r.boxes),
    ("measured", "Precision of audited auto-accepted boxes (30 days).", lambda r: r.precision),
    ("lower_bound", "One-sided 95 % Clopper-Pearson lower bound.", lambda r: r.lower_bound),
    ("certified", "1 when the bound reaches the target.", lambda r: float(r.certified)),
    ("further_audits", "Boxes still to audit to certify.", lambda r: r.further_audits),
    ("further_audited_images", "Images those take.", lambda r: r.further_audited_images),
    ("recommended_threshold", "Learn then Test's threshold.", lambda r: r.recommended.threshold),
)


def precision_gauges() -> Iterator[Metric]:
    rows = precision_report(Facility.objects.all(), since=timezone.now() - GAUGE_WINDOW)
    for name, text, value in GAUGES:
        gauge = GaugeMetricFamily(f"inspection_precision_{name}", text, labels=LABELS)
        for row in rows:
            measured = value(row)
            if measured is not None:
                gauge.add_metric([row.facility, row.model, row.class_name], float(measured))
        yield gauge
