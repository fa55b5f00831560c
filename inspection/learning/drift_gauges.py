"""The drift guard as Prometheus gauges, read at scrape time by the web's /metrics from what the
last check stored (the check itself runs in beat, never per scrape):

- `inspection_drift_psi{facility, camera, model, class_name}`: the last PSI of the class
  (camera `*`: all cameras together); no sample while too few boxes to compare;
- `inspection_drift_alert_open{facility, camera, model, class_name, kind}`: the alerts not yet
  acknowledged (kind `drift` or `precision`); no sample when none is open."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from inspection.models import DriftAlert, DriftMeasure

ALL_CAMERAS = "*"
LABELS = ["facility", "camera", "model", "class_name"]


def drift_gauges() -> Iterator[Metric]:
    psi = GaugeMetricFamily(
        "inspection_drift_psi",
        "Population stability index of the class's recent confidences against its reference.",
        labels=LABELS,
    )
    measures = DriftMeasure.objects.filter(psi__isnull=False).select_related(
        "facility", "model_version"
    )
    for row in measures:
        psi.add_metric(_labels(row), float(row.psi or 0.0))
    yield psi
    alerts = GaugeMetricFamily(
        "inspection_drift_alert_open",
        "Drift or precision alerts not yet acknowledged.",
        labels=[*LABELS, "kind"],
    )
    rows = DriftAlert.objects.filter(acknowledged_at__isnull=True).select_related(
        "facility", "model_version"
    )
    # Alerts of earlier threshold versions share their labels with today's: counted, not repeated.
    counts = Counter(tuple([*_labels(alert), alert.kind]) for alert in rows)
    for labels, count in sorted(counts.items()):
        alerts.add_metric(list(labels), float(count))
    yield alerts


def _labels(row: DriftMeasure | DriftAlert) -> list[str]:
    camera = ALL_CAMERAS if row.camera is None else row.camera
    return [row.facility.slug, camera, str(row.model_version), row.class_name]
