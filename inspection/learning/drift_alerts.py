"""Drift alerts: opening one (or refreshing the open one) when a check finds drift or a precision
breach, acknowledging one (an admin on the thresholds page, or an API key), and the alerts a
caller may see.

One alert per facility, camera, model, class, kind and threshold version: a check that finds the
same problem again refreshes the open alert's statistic, and after an acknowledgement stays quiet
until new thresholds are set (a new version has a new reference window and promise, so its own
alert). The acknowledgement is the audit: who and when, on the row, written once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from inspection.models import DriftAlert, Facility
from inspection.services import DomainError


class AlertAlreadyAcknowledged(DomainError):
    code = "already_acknowledged"


@dataclass(frozen=True)
class Finding:
    facility_id: int
    camera: str | None
    model_version_id: int
    class_name: str
    kind: str
    policy_id: int | None
    statistic: float
    cutoff: float
    detail: str


def raise_alert(finding: Finding, now: datetime) -> bool:
    """True when this opened a new alert."""
    alert, created = DriftAlert.objects.get_or_create(
        facility_id=finding.facility_id,
        camera=finding.camera,
        model_version_id=finding.model_version_id,
        class_name=finding.class_name,
        kind=finding.kind,
        policy_id=finding.policy_id,
        defaults={
            "statistic": finding.statistic,
            "cutoff": finding.cutoff,
            "detail": finding.detail[:300],
            "opened_at": now,
            "last_seen_at": now,
        },
    )
    if not created and alert.is_open:
        fields = {"statistic": finding.statistic, "detail": finding.detail[:300]}
        DriftAlert.objects.filter(pk=alert.pk).update(last_seen_at=now, **fields)
    return created


def alerts_for(facilities: QuerySet[Facility]) -> QuerySet[DriftAlert]:
    """The alerts of the caller's facilities, newest first (open and acknowledged)."""
    return DriftAlert.objects.filter(facility__in=facilities).select_related(
        "facility", "model_version"
    )


def open_alerts(facilities: QuerySet[Facility]) -> QuerySet[DriftAlert]:
    return alerts_for(facilities).filter(acknowledged_at__isnull=True)


def acknowledge(alert: DriftAlert, author: str) -> DriftAlert:
    """Raises AlertAlreadyAcknowledged when someone acknowledged it first."""
    if not alert.acknowledge(author):
        alert.refresh_from_db()
        raise AlertAlreadyAcknowledged(
            f"Alert {alert.pk} was already acknowledged by {alert.acknowledged_by} "
            f"at {alert.acknowledged_at:%Y-%m-%d %H:%M} UTC."
        )
    return alert
