"""Log lines that carry the batch, the image and the task, as `extra` fields and in the text."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any


class ImageLog(logging.LoggerAdapter[logging.Logger]):
    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        context = self.extra or {}
        kwargs["extra"] = {**context, **kwargs.get("extra", {})}
        tags = " ".join(f"{key}={value}" for key, value in context.items())
        return f"{msg} [{tags}]", kwargs


def image_log(
    logger: logging.Logger, task: str, image_id: object, batch_id: object = ""
) -> ImageLog:
    return ImageLog(logger, {"task": task, "batch_id": str(batch_id), "image_id": str(image_id)})
