"""Which model a run measures: --model, else the committed default, else the untrained dev
model (same yolov8n architecture and speed; it detects nothing)."""

from __future__ import annotations

from pathlib import Path


def resolve_model(requested: Path | None, work_dir: Path) -> Path:
    from django.conf import settings

    from inspection.inference import registry

    if requested is not None:
        if not requested.exists():
            raise SystemExit(f"model not found: {requested}")
        return requested.resolve()
    default = Path(settings.DEFAULT_MODEL_PATH)
    if default.is_file():
        return default.resolve()
    return registry.build_untrained_model(work_dir / "models" / "dev-untrained.pt").resolve()


def is_untrained(path: Path) -> bool:
    return path.name == "dev-untrained.pt"
