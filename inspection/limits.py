"""The reasons a file is refused on its own at upload (a per-file limit): submission applies
them, the API lists the files refused for them."""

from __future__ import annotations

FILE_TOO_LARGE = "file_too_large"
# Header reasons that refuse a file at upload; every other reason (not an image, corrupt,
# format not allowed) is left to the pipeline, which reports it per image the same way.
UPLOAD_REJECT_REASONS = frozenset({"too_many_pixels", "too_small"})
PER_FILE_LIMIT_REASONS = UPLOAD_REJECT_REASONS | {FILE_TOO_LARGE}
