"""`python -m bench.multihost.provision`, run on host A once its servers are up: migrations, the
model, a facility and an API key, in one process (one Django and torch start instead of one per
manage.py command). Prints one JSON line: the raw key, the facility and the model.

The model: `default` is the bundled model with its calibrated thresholds (what create_facility
gives a new facility); `dev` is an untrained yolov8n written to --model-dir (a folder every host
reads, as the models folder of a deployment's image) and registered at --input-size, with
thresholds chosen by hand so that an image's outcome depends on what the model found."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inspection.models import ModelVersion

DEV_THRESHOLD = 0.25


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.multihost.provision")
    parser.add_argument("--facility", required=True)
    parser.add_argument("--model", choices=("default", "dev"), default="default")
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--input-size", type=int, default=320, help="the dev model's")
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
    model = dev_model(args.model_dir, args.input_size) if args.model == "dev" else None
    facility = create_facility(args.facility, model=model)
    _, raw = issue_api_key("multihost", [facility], args.webhook_url)
    active = facility.active_model
    print(json.dumps({"key": raw, "facility": facility.slug, "model": str(active)}))


def dev_model(folder: Path, input_size: int) -> ModelVersion:
    from inspection.inference import registry
    from inspection.services.policies import ThresholdChange

    path = registry.build_untrained_model(folder / "dev.pt")
    thresholds = ThresholdChange.of({}, default_threshold=DEV_THRESHOLD)
    return registry.register_model(path, "dev", "multihost", input_size, thresholds)


if __name__ == "__main__":
    main()
