"""REST submission under a bounded overload, then an audit of what was accepted.

The web is restarted with a low MAX_PENDING_IMAGES; `clients` threads submit small batches over
loopback for at most `seconds` (and at most `max_submissions` logical submissions). Each
logical submission has its own Idempotency-Key: after a 503 the client retries with the same key
(waiting min(Retry-After, retry_wait)); after a 202 it repeats the request once more, as a
client whose answer was lost would, and expects 200 with the same batch. Then the pipeline
drains and the database is audited: every key answered 202 has exactly one batch with all its
images, each in exactly one terminal state; no key that was only refused left a batch behind."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from itertools import count as counter
from pathlib import Path
from typing import Any

from bench import progress
from bench.client import Answer, files_field, submit
from bench.service import Service, Setup
from bench.stats import median, percentile, rate

MAX_TRIES = 60


@dataclass(frozen=True)
class Plan:
    clients: int
    seconds: float
    max_submissions: int
    images_per_submission: int
    max_pending: int
    retry_wait: float


@dataclass
class Ledger:
    """What every client saw, shared between threads under a lock."""

    answers: list[dict[str, Any]] = field(default_factory=list)
    accepted: dict[str, str] = field(default_factory=dict)  # key -> batch id of its 202
    replays: dict[str, str] = field(default_factory=dict)  # key -> batch id of the repeat
    abandoned: list[str] = field(default_factory=list)  # keys that never got a 202
    lock: threading.Lock = field(default_factory=threading.Lock)
    tickets: Any = field(default_factory=counter)

    def record(self, key: str, answer: Answer, kind: str) -> None:
        with self.lock:
            self.answers.append(
                {
                    "key": key,
                    "status": answer.status,
                    "kind": kind,
                    "ms": round(answer.seconds * 1000, 1),
                }
            )


def overload(service: Service, setup: Setup, paths: list[Path], plan: Plan) -> dict[str, Any]:
    service.restart_web({"MAX_PENDING_IMAGES": str(plan.max_pending)})
    ledger = Ledger()
    deadline = time.monotonic() + plan.seconds
    started = time.monotonic()
    threads = [
        threading.Thread(target=_client, args=(service, setup, paths, plan, ledger, deadline))
        for _ in range(plan.clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    drained = progress.wait_until(lambda: progress.pending_images() == 0, 300, 0.2, service.dead)
    return {
        "plan": plan.__dict__,
        "seconds": round(elapsed, 2),
        "drained": drained,
        **answer_summary(ledger, elapsed, plan),
        **audit(ledger, plan),
    }


def _client(
    service: Service, setup: Setup, paths: list[Path], plan: Plan, ledger: Ledger, deadline: float
) -> None:
    while time.monotonic() < deadline:
        ticket = next(ledger.tickets)
        if ticket >= plan.max_submissions:
            return
        first = ticket * plan.images_per_submission
        chosen = [paths[(first + i) % len(paths)] for i in range(plan.images_per_submission)]
        _submit_until_accepted(service, setup, files_field(chosen), plan, ledger, deadline)


def _submit_until_accepted(
    service: Service, setup: Setup, files: list[Any], plan: Plan, ledger: Ledger, deadline: float
) -> None:
    key = f"bench-{uuid.uuid4()}"
    for _ in range(MAX_TRIES):
        answer = submit(service.base_url, setup.api_key, setup.facility_slug, files, key)
        ledger.record(key, answer, "submit")
        if answer.status == 202:
            _replay(service, setup, files, key, str(answer.body["id"]), ledger)
            return
        if answer.status != 503 or time.monotonic() >= deadline:
            break
        time.sleep(min(float(answer.retry_after or plan.retry_wait), plan.retry_wait))
    with ledger.lock:
        ledger.abandoned.append(key)


def _replay(
    service: Service, setup: Setup, files: list[Any], key: str, batch_id: str, ledger: Ledger
) -> None:
    again = submit(service.base_url, setup.api_key, setup.facility_slug, files, key)
    ledger.record(key, again, "replay")
    with ledger.lock:
        ledger.accepted[key] = batch_id
        ledger.replays[key] = str(again.body.get("id", "")) if again.status == 200 else ""


def answer_summary(ledger: Ledger, elapsed: float, plan: Plan) -> dict[str, Any]:
    firsts = [a for a in ledger.answers if a["kind"] == "submit"]
    by_status = Counter(a["status"] for a in ledger.answers)
    return {
        "answers_by_status": {str(k): v for k, v in sorted(by_status.items())},
        "requests_per_s": rate(len(ledger.answers), elapsed),
        "accepted_images_per_s": rate(len(ledger.accepted) * plan.images_per_submission, elapsed),
        "ms_202": _spread([a["ms"] for a in firsts if a["status"] == 202]),
        "ms_503": _spread([a["ms"] for a in firsts if a["status"] == 503]),
        "ms_replay_200": _spread([a["ms"] for a in ledger.answers if a["kind"] == "replay"]),
        "logical_submissions": len(ledger.accepted) + len(ledger.abandoned),
        "accepted_submissions": len(ledger.accepted),
        "abandoned_submissions": len(ledger.abandoned),
    }


def _spread(values: list[float]) -> dict[str, Any]:
    return {
        "count": len(values),
        "median": median(values),
        "p90": percentile(values, 0.9),
        "max": max(values) if values else None,
    }


def audit(ledger: Ledger, plan: Plan) -> dict[str, Any]:
    """Lost, duplicated or unfinished images among everything the API accepted."""
    from inspection.models import Batch, Image

    keys = [*ledger.accepted, *ledger.abandoned]
    batches = Counter(
        Batch.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
    )
    accepted_ids = list(ledger.accepted.values())
    images = Image.objects.filter(batch_id__in=accepted_ids)
    per_batch = Counter(images.values_list("batch_id", flat=True))
    return {
        "keys_with_more_than_one_batch": sum(1 for n in batches.values() if n > 1),
        "accepted_keys_without_batch": sum(1 for k in ledger.accepted if not batches[k]),
        "refused_keys_with_batch": sum(1 for k in ledger.abandoned if batches[k]),
        "replays_not_same_batch": sum(
            1 for k, b in ledger.accepted.items() if ledger.replays.get(k) != b
        ),
        "images_expected": len(accepted_ids) * plan.images_per_submission,
        "images_stored": images.count(),
        "batches_with_wrong_image_count": sum(
            1 for b in accepted_ids if per_batch[uuid.UUID(b)] != plan.images_per_submission
        ),
        "images_not_terminal": images.exclude(status__in=Image.TERMINAL).count(),
        "terminal_statuses": dict(Counter(images.values_list("status", flat=True))),
    }
