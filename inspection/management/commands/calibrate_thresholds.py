"""`manage.py calibrate_thresholds`: per class, the lowest confidence threshold that reaches a
target precision on a labelled split; optionally saved as a new ThresholdPolicy version."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from inspection.calibration.offline import configure_offline
from inspection.calibration.targets import PrecisionTargets
from inspection.inference import loader, registry
from inspection.management.targets import add_target_arguments, data_set_errors, targets_option
from inspection.models import Facility, ModelVersion, ThresholdSource
from inspection.preprocessing import PreprocessConfig
from inspection.services import DomainError
from inspection.services.policies import (
    DEFAULT_MIN_CONFIDENCE,
    ThresholdChange,
    active_policy,
    save_policy_version,
)

NO_DATABASE = "the database is not ready (run manage.py migrate first)"


class Command(BaseCommand):
    help = (
        "Calibrate per-class confidence thresholds for a target precision on a labelled "
        "split and preview the review load; --save writes a new ThresholdPolicy version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--model-version", type=int, help="A registered ModelVersion id.")
        which.add_argument("--model", type=Path, help="A weights file (.pt/.onnx).")
        parser.add_argument(
            "--data",
            type=Path,
            required=True,
            help="A YOLO data set's data.yaml (ultralytics layout; its `names` "
            "must be the model's classes).",
        )
        parser.add_argument("--split", default="val")
        add_target_arguments(parser)
        parser.add_argument(
            "--min-confidence",
            type=float,
            help="Noise floor for the review preview (default: the active "
            f"policy's, else {DEFAULT_MIN_CONFIDENCE}).",
        )
        parser.add_argument("--facility", help="Facility slug (needed with --save).")
        parser.add_argument("--save", action="store_true")
        parser.add_argument("--json", type=Path, help="Also write the result here.")

    def handle(self, *args: Any, **options: Any) -> None:
        targets = targets_option(options, options["data"])
        configure_offline()
        from inspection.calibration.calibrate import run_calibration

        model_version, path = self._model(options)
        facility = self._facility(options)
        yolo = loader.load_yolo(path)
        imgsz = model_version.input_size if model_version else loader.input_size(yolo, path)
        floor = self._min_confidence(options, facility, model_version)
        with data_set_errors():
            result = run_calibration(
                yolo,
                imgsz,
                options["data"],
                options["split"],
                targets,
                floor,
                PreprocessConfig.from_settings(),
            )
        self._print(result, targets, options)
        if options["json"]:
            options["json"].write_text(json.dumps(result.as_dict(), indent=1) + "\n")
        if options["save"]:
            self._save(facility, model_version, result, targets, options)

    def _model(self, options: dict[str, Any]) -> tuple[ModelVersion | None, Path]:
        if options["model_version"] is not None:
            try:
                mv = ModelVersion.objects.get(pk=options["model_version"])
            except ModelVersion.DoesNotExist as exc:
                raise CommandError(f"no model version {options['model_version']}") from exc
            except DatabaseError as exc:
                raise CommandError(NO_DATABASE + ": --model-version needs it") from exc
            return mv, Path(mv.file_path)
        path: Path = options["model"]
        if not path.exists():
            raise CommandError(f"model not found: {path}")
        digest = registry.checksum(path.resolve())
        try:
            return ModelVersion.objects.filter(checksum=digest).order_by("pk").first(), path
        except DatabaseError:
            # No database yet (a fresh checkout): calibrating a file needs none; saving does.
            if options["save"] or options["facility"]:
                raise CommandError(NO_DATABASE + ": --save and --facility need it") from None
            self.stderr.write(
                "No database (run manage.py migrate to register models): "
                "calibrating the file at the input size stored in its weights."
            )
            return None, path

    def _facility(self, options: dict[str, Any]) -> Facility | None:
        if not options["facility"]:
            if options["save"]:
                raise CommandError("--save needs --facility SLUG")
            return None
        try:
            return Facility.objects.get(slug=options["facility"])
        except Facility.DoesNotExist as exc:
            raise CommandError(f"no facility {options['facility']!r}") from exc

    def _min_confidence(
        self, options: dict[str, Any], facility: Facility | None, model_version: ModelVersion | None
    ) -> float:
        if options["min_confidence"] is not None:
            return float(options["min_confidence"])
        policy = active_policy(facility, model_version) if facility else None
        return policy.min_confidence if policy else DEFAULT_MIN_CONFIDENCE

    def _print(self, result: Any, targets: PrecisionTargets, options: dict[str, Any]) -> None:
        from inspection.calibration.report import render_calibration

        self.stdout.write(
            f"Split {options['split']} ({result.images} images), target precision "
            f"{targets.describe()}, NMS IoU {settings.INFERENCE_NMS_IOU}:"
        )
        self.stdout.write("\n".join(render_calibration(result.as_dict()["classes"])))
        load = result.load
        self.stdout.write(
            f"Review load at min_confidence {result.min_confidence}: "
            f"{load.detection_share:.1%} of detections ({load.detections}), "
            f"{load.image_share:.1%} of images ({load.images}/{result.images})"
        )

    def _save(
        self,
        facility: Facility | None,
        model_version: ModelVersion | None,
        result: Any,
        targets: PrecisionTargets,
        options: dict[str, Any],
    ) -> None:
        assert facility is not None
        if model_version is None:
            raise CommandError(
                "--save needs a registered model: use --model-version, or "
                "register the weights first (manage.py register_model)"
            )
        change = ThresholdChange(
            ThresholdSource.CALIBRATED,
            result.thresholds(),
            min_confidence=result.min_confidence,
            note=f"calibrated on {options['data']} {options['split']} for precision "
            f"{targets.describe()}",
            details={"data": str(options["data"]), "split": options["split"], **result.as_dict()},
        )
        try:
            policy = save_policy_version(
                facility,
                model_version,
                change,
                created_by=f"manage.py calibrate_thresholds ({getpass.getuser()})",
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(
            f"Saved policy v{policy.version} for {facility.slug} / {model_version} "
            f"(active): {policy.class_thresholds}"
        )
