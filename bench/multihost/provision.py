"""`python -m bench.multihost.provision`, run on host A once its servers are up: migrations, the
model, a facility and an API key, in one process (one Django and torch start instead of one per
manage.py command). Prints one JSON line: the raw key, the facility and the model.

The model: `default` is the bundled model with its calibrated thresholds (what create_facility
gives a new facility); `bundled-small` is the same weights registered at --input-size (320:
about four times faster on a CPU, and it still finds boxes in the run's photos, so the audit can
tell an image whose boxes were stored twice); `dev` is an untrained yolov8n written to
--model-dir (a folder every host reads, as the models folder of a deployment's image) at
--input-size: it finds nothing. The last two get thresholds chosen by hand, so an image's outcome
depends on what the model found."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inspection.models import ModelVersion

DEV_THRESHOLD = 0.25
SMALL_THRESHOLD = 0.5
MODELS = ("default", "bundled-small", "dev")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.multihost.provision")
    parser.add_argument("--facility", required=True)
    parser.add_argument("--model", choices=MODELS, default="default")
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--input-size", type=int, default=320, help="bundled-small's and dev's")
    parser.add_argument("--webhook-url", default="")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    import django

    django.setup()
    from django.core.management import call_command

    from inspection.services.api_keys import issue_api_key
    from inspection.services.facilities import create_facility

    call_command("migrate", verbosity=0)
    model = chosen_model(args.model, args.model_dir, args.input_size)
    facility = create_facility(args.facility, model=model)
    _, raw = issue_api_key("multihost", [facility], args.webhook_url)
    active = facility.active_model
    print(json.dumps({"key": raw, "facility": facility.slug, "model": str(active)}))


def chosen_model(name: str, folder: Path, input_size: int) -> ModelVersion | None:
    """None: the facility gets the bundled model as every new facility does."""
    from django.conf import settings

    from inspection.inference import registry
    from inspection.services.policies import ThresholdChange

    if name == "default":
        return None
    if name == "dev":
        path, threshold = registry.build_untrained_model(folder / "dev.pt"), DEV_THRESHOLD
    else:
        path, threshold = settings.DEFAULT_MODEL_PATH, SMALL_THRESHOLD
    thresholds = ThresholdChange.of({}, default_threshold=threshold, min_confidence=0.1)
    return registry.register_model(path, name, "multihost", input_size, thresholds)


if __name__ == "__main__":
    main()
