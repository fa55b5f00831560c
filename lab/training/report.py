"""Plain-text tables of the evaluation report (what `evaluate_model` prints); the calibration
table is the service's (`inspection.calibration.report`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from inspection.calibration.report import fmt, render_calibration
from inspection.calibration.targets import PrecisionTargets


def render_map(block: Mapping[str, Any]) -> list[str]:
    lines = [f"mAP50 {fmt(block['mAP50'])}  mAP50-95 {fmt(block['mAP50-95'])}"]
    for name, row in block["per_class"].items():
        lines.append(f"  {name:<7} mAP50 {fmt(row['mAP50'])}  mAP50-95 {fmt(row['mAP50-95'])}")
    return lines


def targets_text(calibration: Mapping[str, Any]) -> str:
    """`0.95`, or `0.95 (damage 0.8)`, from a report's calibration block."""
    return PrecisionTargets(
        calibration["target_precision"], calibration.get("class_targets", {})
    ).describe()


def calibration_source(report: Mapping[str, Any]) -> str:
    """Where a report's thresholds came from, as the printout and the card both say it:
    `the val split (150 images)` or `the val split of another data set (600 images)`."""
    cal = report["calibration"]
    where = "" if cal["data"] == report["data"] else " of another data set"
    return f"the {cal['split']} split{where} ({cal['images']} images)"


def render_subsets(subsets: Mapping[str, Mapping[str, Any]], names: Sequence[str]) -> list[str]:
    head = "".join(f" {c + ' P/R':>13}" for c in names)
    lines = [f"  {'subset':<8} {'images':>6} {'rej':>3} {'P':>6} {'R':>6}{head}"]
    for name, row in subsets.items():
        cells = "".join(f" {fmt(row[c]['precision']):>6}/{fmt(row[c]['recall']):<6}" for c in names)
        lines.append(
            f"  {name:<8} {row['images']:>6} {row['rejected']:>3} "
            f"{fmt(row['precision']):>6} {fmt(row['recall']):>6}{cells}"
        )
    return lines


def render_boards(block: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines = [f"  {'board':<10} {'truths':>6} {'located':>7} {'recall':>6}"]
    for name, row in block.items():
        lines.append(
            f"  {name:<10} {row['truths']:>6} {fmt(row['located']):>7} {fmt(row['recall']):>6}"
        )
    return lines


def render_lighting(block: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines = [
        f"  {'subset':<6} {'recall off':>10} {'recall on':>10} {'damage off':>10} {'damage on':>10}"
    ]
    for name in block["off"]:
        off, on = block["off"][name], block["on"][name]
        lines.append(
            f"  {name:<6} {fmt(off['recall']):>10} {fmt(on['recall']):>10} "
            f"{fmt(off.get('damage')):>10} {fmt(on.get('damage')):>10}"
        )
    return lines


def render_report(report: Mapping[str, Any]) -> str:
    cal = report["calibration"]
    return "\n".join(
        [
            f"{report['model']} on {report['split']} ({report['images']} images, "
            f"imgsz {report['imgsz']})",
            *render_map(report["map"]),
            f"Thresholds calibrated on {calibration_source(report)} for precision "
            f"{targets_text(cal)}:",
            *render_calibration(cal["classes"]),
            f"At those thresholds on {report['split']} (through preprocess(), "
            f"normalize_lighting={report['normalize_lighting']}, NMS IoU {report['nms_iou']}):",
            *render_subsets(report["subsets"], report["class_names"]),
            "Damage by board (located: IoU >= 0.5 at any confidence; recall: at the threshold):",
            *render_boards(report["damage_by_board"]),
            "Lighting normalisation (recall at the same thresholds):",
            *render_lighting(report["lighting_normalization"]),
        ]
    )
