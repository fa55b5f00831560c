"""One run of the loop: generate, submit and process in chunks, then decide every open audit
from the truth. Returns what the report needs (the truth of every submitted image)."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from inspection.models import Facility, Image, ReviewDecision, ReviewTask
from lab.field_loop.field import TrueBox, check_seed, field_config, field_image
from lab.field_loop.pipeline import field_facility, process, submit
from lab.field_loop.reviewer import decide_from_truth, truth_reviewer

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    images: int
    seed: int
    audit_share: float
    facility: str
    max_side: int | None = None
    chunk: int = 20  # images per submitted batch


@dataclass
class FieldRun:
    options: Options
    facility: Facility
    truths: dict[uuid.UUID, tuple[TrueBox, ...]] = field(default_factory=dict)
    skipped: list[int] = field(default_factory=list)  # indices the generator could not render
    statuses: Counter[str] = field(default_factory=Counter)
    audits: Counter[str] = field(default_factory=Counter)  # decision action -> count
    seconds: float = 0.0


def simulate(options: Options, progress: Progress | None = None) -> FieldRun:
    check_seed(options.seed)
    if options.images < 1:
        raise ValueError("--images must be at least 1.")
    config = field_config(options.max_side)
    started = time.perf_counter()
    run = FieldRun(options, field_facility(options.facility, options.audit_share))
    for start in range(0, options.images, options.chunk):
        stop = min(start + options.chunk, options.images)
        made = [field_image(options.seed, i, config) for i in range(start, stop)]
        run.skipped += [i for i, image in zip(range(start, stop), made, strict=True) if not image]
        rendered = [image for image in made if image is not None]
        if rendered:
            submitted = submit(run.facility, rendered)
            process(list(submitted))
            run.truths.update({image_id: image.truths for image_id, image in submitted.items()})
        _say(progress, f"{stop}/{options.images} images through the pipeline")
    run.statuses = _statuses(run)
    run.audits = decide_audits(run)
    run.seconds = time.perf_counter() - started
    return run


def decide_audits(run: FieldRun) -> Counter[str]:
    reviewer = truth_reviewer(run.facility)
    tasks = ReviewTask.objects.filter(
        facility=run.facility, kind=ReviewTask.Kind.AUDIT, status=ReviewTask.Status.OPEN
    ).order_by("id")
    decided: list[ReviewDecision] = [
        decide_from_truth(task, reviewer, run.truths[task.image_id]) for task in tasks
    ]
    return Counter(str(decision.action) for decision in decided)


def _statuses(run: FieldRun) -> Counter[str]:
    rows = Image.objects.filter(id__in=list(run.truths)).values_list("status", flat=True)
    return Counter(rows)


def _say(progress: Progress | None, line: str) -> None:
    if progress is not None:
        progress(line)
