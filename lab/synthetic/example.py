"""Render one planned image: scene, capture problems, then boxes derived from the final
outlines (clipped to the frame, tiny or mostly-outside ones dropped with their children)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lab.synthetic.capture import apply_pixels, rotate
from lab.synthetic.geometry import Box, Points, bounding_box
from lab.synthetic.plan import GeneratorConfig, ImagePlan
from lab.synthetic.problems import in_capture_order
from lab.synthetic.scene import Annotation, SceneOptions, render_scene


@dataclass(frozen=True)
class Labelled:
    class_id: int
    box: Box


@dataclass(frozen=True)
class Example:
    plan: ImagePlan
    image: np.ndarray  # uint8 BGR, final size
    boxes: list[Labelled]

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    def jpeg(self) -> bytes:
        ok, data = cv2.imencode(".jpg", self.image, [cv2.IMWRITE_JPEG_QUALITY, self.plan.quality])
        assert ok, "OpenCV could not encode a JPEG"
        return data.tobytes()

    def yolo_lines(self) -> list[str]:
        return [
            f"{b.class_id} " + " ".join(f"{v:.6f}" for v in b.box.yolo(self.width, self.height))
            for b in self.boxes
        ]


def render_example(
    rng: np.random.Generator,
    plan: ImagePlan,
    config: GeneratorConfig,
    scene_options: SceneOptions | None = None,
) -> Example:
    scene = render_scene(rng, plan.kind, plan.width, plan.height, scene_options or config.scene)
    image = scene.image
    polygons = [a.polygon for a in scene.annotations]
    for problem in in_capture_order(plan.problems):
        if problem.name == "rotation":
            image, polygons = rotate(image, polygons, problem.params)
        else:
            image = apply_pixels(image, problem, rng)
    final = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    boxes = final_boxes(scene.annotations, polygons, final.shape[1], final.shape[0], config)
    return Example(plan, final, boxes)


def final_boxes(
    annotations: list[Annotation],
    polygons: list[Points],
    width: int,
    height: int,
    config: GeneratorConfig,
) -> list[Labelled]:
    """Axis-aligned boxes of the (possibly moved) outlines, clipped to the frame. A box too thin
    or mostly outside is dropped, and so is anything lying on a dropped parcel."""
    min_side = max(2.0, config.min_box_side * min(width, height))
    kept: dict[int, Labelled] = {}
    for index, (annotation, polygon) in enumerate(zip(annotations, polygons, strict=True)):
        if annotation.parent is not None and annotation.parent not in kept:
            continue
        box = _usable(bounding_box(polygon), width, height, min_side, config.min_visible)
        if box is not None:
            kept[index] = Labelled(annotation.class_id, box)
    return list(kept.values())


def _usable(box: Box, width: int, height: int, min_side: float, min_visible: float) -> Box | None:
    clipped = box.clip(width, height)
    if clipped.width < min_side or clipped.height < min_side:
        return None
    if clipped.area < min_visible * box.area:
        return None
    return clipped
