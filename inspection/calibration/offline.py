"""Keep ultralytics off the network: no hub, no font or weight downloads, no pip installs.
Must run before `ultralytics` is imported (its settings are read at import)."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings


def configure_offline(config_dir: Path | None = None) -> None:
    directory = config_dir or Path(settings.BASE_DIR) / "var" / "ultralytics"
    directory.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(directory))
