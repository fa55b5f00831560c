"""`manage.py train_default_model`: generate the seeded synthetic data set and train the default
detector from scratch (yolov8n.yaml), writing stripped weights and a JSON record of the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from inspection.calibration.offline import configure_offline
from inspection.management.base import Database, InspectionCommand
from lab.training.recipe import SCENE_MIXES, DataRecipe

DEFAULTS = {"count": 1000, "seed": 0}


class Command(InspectionCommand):
    help = (
        "Train the default parcel/label/damage detector on seeded synthetic data "
        "(CPU defaults take about 75 minutes on 2 cores; --device 0 uses the first GPU)."
    )
    database = Database.UNUSED

    def add_arguments(self, parser: CommandParser) -> None:
        from lab.training.train import TrainSettings

        d = TrainSettings()
        parser.add_argument("--out", type=Path, default=Path(settings.DEFAULT_MODEL_PATH))
        parser.add_argument(
            "--count",
            type=int,
            default=DEFAULTS["count"],
            help="Images to generate (split 0.8/0.1/0.1).",
        )
        parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
        parser.add_argument(
            "--mix",
            choices=sorted(SCENE_MIXES),
            default="field",
            help="Scene mix of the generated data: field (the generator's "
            "defaults) or damage-focus (more damage, more non-kraft board).",
        )
        parser.add_argument("--epochs", type=int, default=d.epochs)
        parser.add_argument("--imgsz", type=int, default=d.imgsz)
        parser.add_argument("--batch", type=int, default=d.batch)
        parser.add_argument(
            "--lr0",
            type=float,
            default=d.lr0,
            help="Initial learning rate (lower it when continuing with --init).",
        )
        parser.add_argument("--device", default=d.device, help="cpu, or a CUDA index such as 0.")
        parser.add_argument(
            "--cache",
            choices=["disk", "ram", "none"],
            default=d.cache,
            help="Image cache for training (disk: deterministic; ram: fastest).",
        )
        parser.add_argument(
            "--init",
            type=Path,
            default=None,
            help="Start from this local weights file (same classes) instead of "
            "random weights, e.g. the previous models/default.pt.",
        )
        parser.add_argument(
            "--data-dir", type=Path, default=Path(settings.BASE_DIR) / "var" / "train" / "data"
        )
        parser.add_argument(
            "--runs-dir", type=Path, default=Path(settings.BASE_DIR) / "var" / "train" / "runs"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        init: Path | None = options["init"]
        if init is not None and not init.is_file():
            raise CommandError(f"--init {init}: no such weights file")
        configure_offline()
        from lab.training import train

        recipe = DataRecipe(count=options["count"], seed=options["seed"], mix=options["mix"])
        cache = False if options["cache"] == "none" else options["cache"]
        config = train.TrainSettings(
            epochs=options["epochs"],
            imgsz=options["imgsz"],
            batch=options["batch"],
            device=str(options["device"]),
            lr0=options["lr0"],
            cache=cache,
        )
        if init is not None:
            config = train.fine_tuning(config)
        data_yaml = train.prepare_data(recipe, options["data_dir"])
        self.stdout.write(f"Data set ready: {data_yaml}")
        result = train.train(data_yaml, config, options["runs_dir"], name="default", init=init)
        out: Path = options["out"]
        train.export_weights(result.best, out)
        train.write_record(
            out.with_name(out.stem + ".train.json"),
            train.training_record(recipe, config, result, init=init),
        )
        self.stdout.write(
            f"Wrote {out} ({out.stat().st_size / 1e6:.1f} MB) after "
            f"{result.seconds / 60:.1f} min of training"
        )
