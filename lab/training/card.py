"""Markdown tables for a model card, from an `evaluate_model` report (the JSON it writes), so the
card's numbers are generated, not copied by hand."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lab.training.report import calibration_source, targets_text

LIGHTING_COLUMNS = ("recall", "precision", "damage")


def cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def map_table(block: Mapping[str, Any]) -> list[str]:
    rows = [["all", cell(block["mAP50"]), cell(block["mAP50-95"])]]
    rows += [
        [name, cell(row["mAP50"]), cell(row["mAP50-95"])]
        for name, row in block["per_class"].items()
    ]
    return table(["", "mAP50", "mAP50-95"], rows)


def calibration_table(classes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    rows = [
        [
            name,
            cell(row["threshold"]),
            cell(row["precision"]),
            f"{cell(row['precision_low'])} ({row['detections']})",
            cell(row["recall"]),
            f"{row['target_precision']} " + ("reached" if row["target_reached"] else "missed"),
        ]
        for name, row in classes.items()
    ]
    return table(
        [
            "class",
            "threshold",
            "precision",
            "precision at least (95 %; detections)",
            "recall",
            "target",
        ],
        rows,
    )


def subset_table(subsets: Mapping[str, Mapping[str, Any]], names: Sequence[str]) -> list[str]:
    rows = [
        [
            name,
            str(row["images"]),
            str(row["rejected"]),
            cell(row["precision"]),
            cell(row["recall"]),
            *(f"{cell(row[c]['precision'])} / {cell(row[c]['recall'])}" for c in names),
        ]
        for name, row in subsets.items()
    ]
    head = ["subset", "images", "rejected", "P", "R", *(f"{c} P / R" for c in names)]
    return table(head, rows)


def board_table(block: Mapping[str, Mapping[str, Any]]) -> list[str]:
    rows = [
        [name, str(row["truths"]), cell(row["located"]), cell(row["recall"])]
        for name, row in block.items()
    ]
    return table(["board (estimated)", "damage truths", "located", "recall"], rows)


def lighting_table(block: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Normalisation off vs on at the same thresholds, per subset."""
    head = [
        "subset",
        *(f"{column} {state}" for column in LIGHTING_COLUMNS for state in ("off", "on")),
    ]
    rows = [
        [
            name,
            *(
                cell(block[state][name].get(column))
                for column in LIGHTING_COLUMNS
                for state in ("off", "on")
            ),
        ]
        for name in block["off"]
    ]
    return table(head, rows)


def render_card_tables(report: Mapping[str, Any]) -> str:
    cal = report["calibration"]
    return "\n".join(
        [
            f"{report['images']} images ({report['split']} split), imgsz {report['imgsz']}.",
            "",
            *map_table(report["map"]),
            "",
            f"Thresholds calibrated on {calibration_source(report)} for precision "
            f"{targets_text(cal)}:",
            "",
            *calibration_table(cal["classes"]),
            "",
            "Precision / recall at those thresholds, through `preprocess()` "
            f"(normalize_lighting={report['normalize_lighting']}, NMS IoU {report['nms_iou']}):",
            "",
            *subset_table(report["subsets"], report["class_names"]),
            "",
            "Damage by the board it lies on (estimated from the pixels around each box; located: "
            "IoU >= 0.5 at any confidence; recall: at the calibrated threshold):",
            "",
            *board_table(report["damage_by_board"]),
            "",
            "Lighting normalisation off vs on (same thresholds; `damage` is damage recall):",
            "",
            *lighting_table(report["lighting_normalization"]),
            "",
        ]
    )
