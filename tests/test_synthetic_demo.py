"""The committed demo batch is present, small, and contains the deliberate failures."""

from __future__ import annotations

from pathlib import Path

from inspection.synthetic.demo_samples import SHOTS

DEMO = Path(__file__).resolve().parent.parent / "samples" / "demo"
BROKEN = {"90-corrupt.jpg", "91-truncated.jpg", "92-empty.jpg", "93-not-an-image.jpg"}


def test_demo_batch_holds_every_named_shot_and_the_broken_uploads() -> None:
    names = {p.name for p in DEMO.iterdir() if p.is_file()}
    assert names == {f"{shot.name}.jpg" for shot in SHOTS} | BROKEN
    assert 20 <= len(SHOTS) <= 30


def test_demo_images_are_small_jpegs() -> None:
    for shot in SHOTS:
        data = (DEMO / f"{shot.name}.jpg").read_bytes()
        assert data[:3] == b"\xff\xd8\xff" and data[-2:] == b"\xff\xd9"
        assert len(data) < 120 * 1024, shot.name


def test_broken_uploads_are_broken_in_the_intended_way() -> None:
    assert (DEMO / "92-empty.jpg").stat().st_size == 0
    assert (DEMO / "90-corrupt.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    truncated = (DEMO / "91-truncated.jpg").read_bytes()
    assert truncated[:3] == b"\xff\xd8\xff" and truncated[-2:] != b"\xff\xd9"
    assert not (DEMO / "93-not-an-image.jpg").read_bytes().startswith(b"\xff\xd8")
