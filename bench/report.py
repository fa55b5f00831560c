"""Targets from DESIGN.md as verdicts over a run's measurements, the JSON file and a text table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.stats import at_least, at_most, median, ratio, verdict

LATENCY_BUDGET_MS = 150.0
MEMORY_GROWTH_LIMIT = 0.05


def throughput_targets(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over rounds; the raw loop is the faster of its two decoders (the stricter bar)."""
    pipeline = median([r["pipeline"]["images_per_s"] for r in rounds])
    raw = {
        name: median([r[name]["images_per_s"] for r in rounds])
        for name in ("raw_loop_preprocess", "raw_loop_cv2")
    }
    best_raw = max(value for value in raw.values() if value is not None)
    steady = median([r["yolo_predict"]["images_per_s_steady"] or 0 for r in rounds])
    whole = median([r["yolo_predict"]["images_per_s_whole_command"] for r in rounds])
    ratios = {
        "pipeline_vs_raw_loop": ratio(pipeline, best_raw),
        "pipeline_vs_raw_loop_preprocess": ratio(pipeline, raw["raw_loop_preprocess"]),
        "pipeline_vs_raw_loop_cv2": ratio(pipeline, raw["raw_loop_cv2"]),
        "pipeline_vs_yolo_predict_steady": ratio(pipeline, steady),
        "pipeline_vs_yolo_predict_whole_command": ratio(pipeline, whole),
    }
    return {
        "median_images_per_s": {
            "pipeline": pipeline,
            **raw,
            "yolo_predict_steady": steady,
            "yolo_predict_whole_command": whole,
        },
        "ratios": ratios,
        "targets": [
            at_least("pipeline / raw loop (faster decoder)", ratios["pipeline_vs_raw_loop"], 0.9),
            at_least(
                "pipeline / yolo predict (start-up excluded)",
                ratios["pipeline_vs_yolo_predict_steady"],
                1.5,
            ),
            at_least(
                "pipeline / yolo predict (whole command)",
                ratios["pipeline_vs_yolo_predict_whole_command"],
                1.5,
                "informational: the start-up-excluded ratio is the stricter one",
            ),
            *cost_targets([r["pipeline"]["cost"] for r in rounds]),
        ],
    }


STATEMENTS_PER_IMAGE = 5.0
MESSAGES_PER_IMAGE_PER_STAGE = 1.0


def cost_targets(costs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The worst round: SQL statements per image for the whole path, and messages per image of
    the busiest task."""
    statements = max(cost["sql_statements_per_image"] for cost in costs)
    busiest = max(max(cost["messages_per_image_by_task"].values(), default=0) for cost in costs)
    return [
        at_most("SQL statements per image, whole path", statements, STATEMENTS_PER_IMAGE),
        at_most("broker messages per image, busiest task", busiest, MESSAGES_PER_IMAGE_PER_STAGE),
    ]


def ceiling_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    note = "a model that costs nothing (INFERENCE_BENCH_FIXED_BOXES) vs decode+resize alone"
    return [at_least("pipeline / decode+resize loop", result["pipeline_vs_decode_loop"], 0.8, note)]


def batching_targets(result: dict[str, Any], on_gpu: bool) -> list[dict[str, Any]]:
    note = "" if on_gpu else "the 3x target is for a GPU; on CPU this is reported, not judged"
    measured = result["batched_vs_single"]
    if on_gpu:
        return [at_least("batched / image-by-image images/s", measured, 3.0)]
    return [verdict("batched / image-by-image images/s", measured, ">= 3.0 (GPU)", None, note)]


def latency_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    overhead = result["overhead_ms"]
    note = "latency minus the worker's own model time for that image"
    return [
        at_most("median overhead ms", overhead["median"], LATENCY_BUDGET_MS, note),
        at_most("p90 overhead ms", overhead["p90"], LATENCY_BUDGET_MS, note),
    ]


FAIRNESS_LIMIT = 3.0


def fairness_targets(result: dict[str, Any], samples: int) -> list[dict[str, Any]]:
    note = f"a 1-image batch behind another facility's {result['large_batch_images']} images"
    return [
        at_most(
            "small batch latency under load / idle", result["loaded_vs_idle"], FAIRNESS_LIMIT, note
        ),
        at_least(
            "samples taken while the large batch was unfinished",
            result["samples_while_large_batch_unfinished"],
            samples,
        ),
    ]


def memory_targets(result: dict[str, Any], full_count: int = 5000) -> list[dict[str, Any]]:
    note = "" if result["images"] >= full_count else f"over {result['images']}, not {full_count}"
    same_process = result["pool_pid"] == result["pool_pid_after"]
    return [
        at_most("RSS growth", result["rss_growth"], MEMORY_GROWTH_LIMIT, note),
        at_most("model loads during the run", result["model_loads_during_run"], 0),
        verdict("pool process kept (no restart)", float(same_process), "1", same_process),
    ]


def overload_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    lost = (
        result["accepted_keys_without_batch"]
        + result["images_expected"]
        - result["images_stored"]
        + result["images_not_terminal"]
        + result["batches_with_wrong_image_count"]
    )
    duplicated = (
        result["keys_with_more_than_one_batch"]
        + result["refused_keys_with_batch"]
        + result["replays_not_same_batch"]
    )
    errors = sum(
        v for k, v in result["answers_by_status"].items() if k not in ("200", "202", "503")
    )
    return [
        at_most("lost or unfinished images", lost, 0),
        at_most("duplicated batches", duplicated, 0),
        at_most("answers other than 202/200/503", errors, 0),
        at_least("202 answers (the overload admitted work)", result["accepted_submissions"], 1),
        at_least(
            "503 answers (the overload was real)", result["answers_by_status"].get("503", 0), 1
        ),
    ]


def write(document: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


def table(document: dict[str, Any]) -> str:
    lines = [f"{'benchmark':<11} {'target':<46} {'measured':>10} {'goal':>14}  result"]
    for name, section in document["benchmarks"].items():
        targets = section.get("targets") or section.get("summary", {}).get("targets", [])
        for line in targets:
            result = {True: "PASS", False: "FAIL", None: "n/a"}[line["pass"]]
            lines.append(
                f"{name:<11} {line['target'][:46]:<46} {str(line['measured']):>10} "
                f"{line['goal']:>14}  {result}"
            )
    return "\n".join(lines)
