"""Which classes validation routes to review because of an open drift alert: at facilities that
opted in (`Facility.drift_routes_to_review`), every class of the image's model with an alert not
yet acknowledged; an alert of one camera routes only that camera's images, one of all cameras
(camera null) every image of the facility.

Looked up once per validate batch, and not at all when no image of the batch is of a facility
that opted in (the facility rides along with the images, so that costs no query)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db.models import Q

from inspection.models import DriftAlert, Image

Pair = tuple[int, int]  # (facility id, model version id)


@dataclass(frozen=True)
class Watch:
    """The open alerts of a batch's facilities and models: (camera or None, class) per pair."""

    alerts: Mapping[Pair, list[tuple[str | None, str]]] = field(default_factory=dict)

    def classes(self, facility_id: int, model_id: int | None, camera: str) -> frozenset[str]:
        if model_id is None:
            return frozenset()
        found = self.alerts.get((facility_id, model_id), [])
        return frozenset(name for at, name in found if at is None or at == camera)


def watch_for(images: Iterable[Image]) -> Watch:
    pairs = {
        (image.facility_id, image.model_version_id)
        for image in images
        if image.facility.drift_routes_to_review and image.model_version_id is not None
    }
    if not pairs:
        return Watch()
    rows = DriftAlert.objects.filter(
        _of_pairs(pairs), acknowledged_at__isnull=True, facility__drift_routes_to_review=True
    ).values_list("facility_id", "model_version_id", "camera", "class_name")
    alerts: dict[Pair, list[tuple[str | None, str]]] = defaultdict(list)
    for facility_id, model_id, camera, name in rows:
        alerts[(facility_id, model_id)].append((camera, name))
    return Watch(dict(alerts))


def _of_pairs(pairs: set[Pair]) -> Q:
    return reduce(or_, (Q(facility_id=fac, model_version_id=model) for fac, model in pairs))
