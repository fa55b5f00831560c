"""The benchmark images: seeded 1920x1080 warehouse photos from the synthetic generator, with no
capture problems, so every image goes through the model (a "too dark" image would end before
inference and flatter the pipeline). Generated once into a cache folder outside the repository
(about 1 s per image), then linked into the run's own folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

DEFAULT_CACHE = Path(tempfile.gettempdir()) / "inspection-bench-images"
RESOLUTION = (1920, 1080)


def cache_folder(seed: int, cache: Path = DEFAULT_CACHE) -> Path:
    return cache / f"seed{seed}-{RESOLUTION[0]}x{RESOLUTION[1]}-clean"


def ensure_images(seed: int, count: int, cache: Path = DEFAULT_CACHE) -> list[Path]:
    """The first `count` images of the seed, generating only the missing ones."""
    folder = cache_folder(seed, cache)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"bench-{index:05d}.jpg" for index in range(count)]
    missing = [(index, path) for index, path in enumerate(paths) if not path.is_file()]
    if missing:
        _generate(seed, missing)
    return paths


def _generate(seed: int, missing: list[tuple[int, Path]]) -> None:
    from lab.synthetic import GeneratorConfig, ProblemMix, generate_example

    config = GeneratorConfig(resolutions=((*RESOLUTION, 1.0),), mix=ProblemMix(clean=1.0))
    for index, path in missing:
        partial = path.with_suffix(".part")
        partial.write_bytes(generate_example(seed, index, config).jpeg())
        partial.replace(path)


def link_folder(paths: list[Path], folder: Path) -> Path:
    """A folder holding exactly these images (hard links; copies across file systems)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in paths:
        target = folder / path.name
        if target.exists():
            continue
        try:
            os.link(path, target)
        except OSError:
            shutil.copyfile(path, target)
    return folder


def prepare(seed: int, count: int, cache: Path, work_dir: Path) -> tuple[list[Path], Path]:
    """The run's images (generated once per seed into the cache) and a folder linking them."""
    paths = ensure_images(seed, count, cache)
    return paths, link_folder(paths, work_dir / "images")
