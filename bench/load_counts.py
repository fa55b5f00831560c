"""SQL statements and broker messages the service's processes sent, and the time they took, read
from their Prometheus multiprocess folders (every process group of the demo's layout writes its
own, under VAR_DIR/metrics). Counters never go backwards, so a measurement is the difference of
two reads divided by the images in between."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

TOTALS = {
    "inspection_sql_statements_total": "statements",
    "inspection_sql_seconds_total": "sql_seconds",
    "inspection_publish_seconds_total": "publish_seconds",
}
MESSAGES = "inspection_messages_published_total"


@dataclass(frozen=True)
class Counts:
    totals: dict[str, float] = field(default_factory=dict)
    messages: dict[str, float] = field(default_factory=dict)


def read(metrics_root: Path) -> Counts:
    """The totals over every process group's folder under `metrics_root`."""
    totals = dict.fromkeys(TOTALS.values(), 0.0)
    messages: dict[str, float] = {}
    for folder in sorted(p for p in metrics_root.glob("*") if p.is_dir()):
        registry = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(registry, path=str(folder))
        for metric in registry.collect():
            for sample in metric.samples:
                if sample.name in TOTALS:
                    totals[TOTALS[sample.name]] += sample.value
                elif sample.name == MESSAGES:
                    task = sample.labels["task"]
                    messages[task] = messages.get(task, 0.0) + sample.value
    return Counts(totals, messages)


def per_image(before: Counts, after: Counts, images: int) -> dict[str, Any]:
    """Statements and database time per image for the whole path (upload included), messages
    per image by task and publishing time: what the issue's targets read (at most 5 statements,
    at most 1 message per stage)."""

    def spent(name: str) -> float:
        return after.totals.get(name, 0.0) - before.totals.get(name, 0.0)

    tasks = sorted(set(after.messages) | set(before.messages))
    messages = {
        task: round((after.messages.get(task, 0) - before.messages.get(task, 0)) / images, 3)
        for task in tasks
    }
    return {
        "images": images,
        "sql_statements_per_image": round(spent("statements") / images, 2),
        "sql_ms_per_image": round(spent("sql_seconds") * 1000 / images, 2),
        "messages_per_image_by_task": {task: n for task, n in messages.items() if n},
        "publish_ms_per_image": round(spent("publish_seconds") * 1000 / images, 3),
        "counted": "statements through Django's cursors in web and workers (BEGIN/COMMIT not "
        "included) and their client-side time; task messages published, by task",
    }
