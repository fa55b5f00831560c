"""Exports of `.pt` weights made on this host, cached under INFERENCE_EXPORT_DIR by the weights'
sha256 and what else shapes the export (format, input size, the exporting libraries' versions),
shared by every worker process of the host and made at most once.

An entry is published whole or not at all: built in a temporary folder beside it, with a
manifest of its files' sha256, then renamed into place. A process that finds an entry checks it
against its manifest and rebuilds one that is incomplete or corrupt. A lock file lets the pool
processes that start together build it once (the others wait, then reuse it); the rename keeps
a build that died halfway invisible, and a second builder harmless where the lock does not
reach (a folder shared by several hosts).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib.metadata import packages_distributions, version
from pathlib import Path

from django.conf import settings

from inspection.inference.model_export import export_weights
from inspection.models import ModelVersion

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
# The libraries whose versions change what an export contains (or whether it loads).
EXPORT_TOOLS: dict[str, tuple[str, ...]] = {
    ModelVersion.Format.OPENVINO: ("ultralytics", "torch", "openvino"),
    ModelVersion.Format.ONNX: ("ultralytics", "torch", "onnx"),
}


class CorruptExport(Exception):
    """A cache entry that does not match its manifest (or has none)."""


def cached_export(weights: Path, model_format: str, input_size: int) -> Path:
    """The cached export of `weights` (an `.onnx` file or an OpenVINO folder), made now when it
    is missing, incomplete or corrupt."""
    entry = entry_path(weights, model_format, input_size)
    found = _usable(entry, say_why=False)
    if found is not None:
        return found
    entry.parent.mkdir(parents=True, exist_ok=True)
    with _locked(entry.parent / f"{entry.name}.lock"):
        found = _usable(entry)  # another process may have made it while this one waited
        return found if found is not None else _build(weights, model_format, input_size, entry)


def entry_path(weights: Path, model_format: str, input_size: int) -> Path:
    tools = "-".join(f"{name}{tool_version(name)}" for name in EXPORT_TOOLS[model_format])
    folder = Path(settings.INFERENCE_EXPORT_DIR) / sha256(weights)
    return folder / f"{model_format}-{input_size}-dynamic-{tools}"


@cache
def tool_version(module: str) -> str:
    """The installed version of the distribution that provides `module` (ultralytics comes as
    ultralytics-opencv-headless here)."""
    return version(packages_distributions()[module][0])


def sha256(path: Path) -> str:
    """The registry's checksum of a weights file (ModelVersion.checksum)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def verified(entry: Path) -> Path:
    """The export inside a complete entry; CorruptExport when a file is missing or changed."""
    try:
        manifest = json.loads((entry / MANIFEST).read_text())
        files, export = dict(manifest["files"]), str(manifest["export"])
    except (OSError, ValueError, LookupError, TypeError) as exc:
        raise CorruptExport(f"no readable {MANIFEST} ({exc.__class__.__name__})") from None
    for name, digest in files.items():
        path = entry / name
        if not path.is_file() or sha256(path) != digest:
            raise CorruptExport(f"{name} is missing or differs from the manifest")
    return entry / export


def _usable(entry: Path, say_why: bool = True) -> Path | None:
    """The export in `entry` when it is complete; a corrupt one is reported (once: by the
    check made under the lock, just before it is made again)."""
    if not entry.exists():
        return None
    try:
        return verified(entry)
    except CorruptExport as exc:
        if not say_why:
            return None
        logger.warning(
            "cached export %s is incomplete or corrupt (%s): making it again", entry, exc
        )
        return None


def _build(weights: Path, model_format: str, input_size: int, entry: Path) -> Path:
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(dir=entry.parent, prefix=f".{entry.name}.building-")).resolve()
    try:
        source = work / "model.pt"  # the exporter names its output after its input
        shutil.copyfile(weights, source)
        exported = export_weights(source, model_format, input_size)
        source.unlink()
        _write_manifest(work, exported.relative_to(work))
        _publish(work, entry)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    logger.info(
        "exported %s to %s at %d px in %.1f s: %s",
        weights.name,
        model_format,
        input_size,
        time.perf_counter() - started,
        entry,
    )
    return verified(entry)


def _write_manifest(work: Path, export: Path) -> None:
    files = {
        str(path.relative_to(work)): sha256(path)
        for path in sorted(work.rglob("*"))
        if path.is_file()
    }
    (work / MANIFEST).write_text(json.dumps({"export": str(export), "files": files}, indent=1))


def _publish(work: Path, entry: Path) -> None:
    """Rename the finished build into place, first moving aside a corrupt entry it replaces."""
    if entry.exists():
        stale = Path(tempfile.mkdtemp(dir=entry.parent, prefix=f".{entry.name}.stale-"))
        os.replace(entry, stale / entry.name)
        shutil.rmtree(stale, ignore_errors=True)
    try:
        os.rename(work, entry)
    except OSError:  # another host published it first (a shared folder): theirs is as good
        if not entry.exists():
            raise


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock between the processes of this host (released if the holder dies)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
