"""A model's prediction for one image as Detection rows, in original-image pixels: the active
model's (`source=model`) and a shadow model's (`source=shadow`) are built the same way."""

from __future__ import annotations

from inspection.inference.loaded import LoadedModel, Prediction
from inspection.models import Detection, Image
from inspection.preprocessing import boxes_to_original


def detections(
    image: Image,
    prediction: Prediction,
    loaded: LoadedModel,
    source: str = Detection.Source.MODEL,
) -> list[Detection]:
    # Preprocessing set all three before the image could wait for inference.
    assert image.scale is not None and image.width is not None and image.height is not None
    boxes = boxes_to_original(prediction.boxes, image.scale, image.width, image.height)
    names = loaded.class_names
    return [
        Detection(
            image=image,
            source=source,
            model_version_id=loaded.model_version_id,
            class_id=int(class_id),
            class_name=names[class_id] if 0 <= class_id < len(names) else str(class_id),
            confidence=float(confidence),
            x1=float(box[0]),
            y1=float(box[1]),
            x2=float(box[2]),
            y2=float(box[3]),
        )
        for box, confidence, class_id in zip(
            boxes, prediction.confidences, prediction.class_ids, strict=True
        )
    ]
