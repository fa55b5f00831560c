"""Which auto-accepted images are audited. The draw is a function of the image id (the first 8
bytes of a SHA-256 as a number in [0, 1)), not of a random generator's state: a validation that
runs again (a lost lease, a replay) draws the same, every process agrees without coordination,
and anyone can recompute the choice from the id. Ids are UUID4s the database never chose from
their content, so the draw is independent of what the image shows; it is recorded on the audit
task together with the share it was compared to (`ReviewTask.audit_share`)."""

from __future__ import annotations

import hashlib
from typing import Any

SALT = b"inspection-audit:"
SCALE = float(2**64)


def draw(image_id: Any) -> float:
    """The image's audit draw, uniform in [0, 1)."""
    digest = hashlib.sha256(SALT + str(image_id).encode()).digest()
    return int.from_bytes(digest[:8], "big") / SCALE


def chosen(image_id: Any, share: float) -> bool:
    """Whether an auto-accepted image is audited at `share` (0 never, 1 always)."""
    return draw(image_id) < share
