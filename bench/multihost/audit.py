"""After a run: was anything lost or done twice? Read from host A's database and object store.

- one Image row per upload (by file name within its batch: every name is sent once), none
  missing, none extra; every image terminal and no claim left on it;
- each batch completed, its total equal to its rows, and completed once: one "batch completed"
  line for it in the logs of every worker of every host (a killed host's logs stay on disk);
- one set of model boxes per image: inference is deterministic and NMS keeps no two equal boxes
  of a class, so a box stored twice means the image was inferred (and stored) twice;
- the object store holds the original of every upload (one object per distinct content) and
  no preprocessed array of a finished image (reported: a worker killed between its commit and
  the array's removal leaves one behind, which costs space, not results)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.multihost.postgres import HostPostgres
from bench.multihost.seaweed import SeaweedServer
from bench.multihost.traffic import TERMINAL, Submitted
from inspection.storage import original_key


@dataclass
class Audit:
    uploads: int = 0
    rows: int = 0
    lost: int = 0
    duplicated: int = 0
    unfinished: int = 0
    claims_left: int = 0
    batches_not_completed: int = 0
    batch_totals_wrong: int = 0
    batches_completed_twice: int = 0
    completions_logged: int = 0
    doubled_boxes: int = 0
    images_with_boxes: int = 0
    distinct_uploads: int = 0
    originals_missing: int = 0
    arrays_left: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def nothing_lost_or_doubled(self) -> bool:
        return not (
            self.lost or self.duplicated or self.unfinished or self.claims_left
            or self.batches_not_completed or self.batch_totals_wrong
            or self.batches_completed_twice or self.doubled_boxes or self.originals_missing
        )  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "nothing_lost_or_doubled": self.nothing_lost_or_doubled}


def audit(
    postgres: HostPostgres, store: SeaweedServer, submitted: Submitted, worker_logs: list[Path]
) -> Audit:
    ids = submitted.batch_ids
    images = postgres.rows(
        "SELECT batch_id::text, original_name, status, reason, leased_by, content_hash "
        "FROM inspection_image WHERE batch_id::text = ANY(%s)",
        ids,
    )
    found = _count_uploads(submitted, images)
    found.unfinished = sum(1 for row in images if row[2] not in TERMINAL)
    found.claims_left = sum(1 for row in images if row[4])
    found.statuses = dict(Counter(row[2] for row in images))
    found.reasons = dict(Counter(row[3] for row in images if row[3]))
    hashes = {row[5] for row in images if row[5]}
    found.distinct_uploads = len(hashes)
    _check_batches(postgres, ids, found)
    completions = completed_in_logs(worker_logs)
    found.batches_completed_twice = sum(1 for batch in ids if completions[batch] > 1)
    found.completions_logged = sum(completions[batch] for batch in ids)
    _check_boxes(postgres, ids, found)
    stored = set(store.keys("originals/"))
    found.originals_missing = sum(1 for sha in hashes if original_key(sha) not in stored)
    found.arrays_left = len(store.keys("preprocessed/"))
    return found


def _count_uploads(submitted: Submitted, images: list[tuple[Any, ...]]) -> Audit:
    stored = Counter((row[0], row[1]) for row in images)
    sent = Counter((batch, name) for batch, names in submitted.batches.items() for name in names)
    return Audit(
        uploads=submitted.uploads,
        rows=len(images),
        lost=sum((sent - stored).values()),
        duplicated=sum((stored - sent).values()),
    )


def _check_batches(postgres: HostPostgres, ids: list[str], found: Audit) -> None:
    batches = postgres.rows(
        "SELECT b.status, b.completed_at IS NOT NULL, b.total, count(i.id) FROM inspection_batch b "
        "LEFT JOIN inspection_image i ON i.batch_id = b.id WHERE b.id::text = ANY(%s) "
        "GROUP BY b.id",
        ids,
    )
    found.batches_not_completed = len(ids) - sum(
        1 for status, done, _, _ in batches if status == "completed" and done
    )
    found.batch_totals_wrong = sum(1 for *_, total, rows in batches if total != rows)


def _check_boxes(postgres: HostPostgres, ids: list[str], found: Audit) -> None:
    boxes = postgres.rows(
        "SELECT d.image_id, d.class_id, d.x1, d.y1, d.x2, d.y2, count(*) "
        "FROM inspection_detection d JOIN inspection_image i ON i.id = d.image_id "
        "WHERE d.source = 'model' AND i.batch_id::text = ANY(%s) "
        "GROUP BY d.image_id, d.class_id, d.x1, d.y1, d.x2, d.y2",
        ids,
    )
    found.doubled_boxes = sum(count - 1 for *_, count in boxes if count > 1)
    found.images_with_boxes = len({row[0] for row in boxes})


_COMPLETED = re.compile(r"batch completed \[batch_id=([0-9a-f-]+)\]")


def completed_in_logs(logs: list[Path]) -> Counter[str]:
    """How often each batch was logged as completed (inspection/pipeline/completion.py logs once
    per completion, after its conditional update changed the row)."""
    found: Counter[str] = Counter()
    for log in logs:
        found.update(_COMPLETED.findall(log.read_text(errors="replace")))
    return found
