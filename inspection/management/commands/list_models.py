"""`manage.py list_models`: every registered model version, with what `--model-version` takes
(its id or `name:version`), its format, classes and input size, the thresholds it was
registered with, and the facilities it is active for."""

from __future__ import annotations

from typing import Any

from inspection.management.base import InspectionCommand
from inspection.models import Facility, ModelVersion


class Command(InspectionCommand):
    help = "List the registered model versions (ids and name:version for --model-version)."

    def handle(self, *args: Any, **options: Any) -> None:
        active: dict[int, list[str]] = {}
        for model_id, slug in Facility.objects.values_list("active_model_id", "slug"):
            active.setdefault(model_id, []).append(slug)
        models = ModelVersion.objects.order_by("pk")
        if not models:
            self.stdout.write("No model registered (manage.py register_model --path FILE ...).")
        for model in models:
            where = ", ".join(sorted(active.get(model.pk, []))) or "no facility"
            self.stdout.write(
                f"{model.pk:>4}  {model}  {model.format}, {len(model.class_names)} classes, "
                f"{model.input_size} px, thresholds {model.threshold_source}; active for {where}"
            )
