"""`python -m bench.backends`: which runtime, thread count and OpenVINO settings predict fastest
on this host, to choose the INFERENCE_* defaults from (docs/deploy.md, "Inference backends").

Each configuration is a set of settings loaded through the workers' own loader
(`inspection.inference.loaded.open_model`: the same backend choice, cached export, threads and
warm-up), then timed on the bundled sample photos after the pipeline's own preprocessing, in
batches of each size (arrays of one shape, as the worker's predict groups them). A shared
machine is noisy, so configurations take turns, round after round, and each cell is the median
(and best) over the rounds. Then `--processes` copies of some configurations run at once, as
that many inference pool processes would on the same cores. Prints Markdown tables and writes
the raw numbers to a JSON file.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.context import ROOT

RESULTS = ROOT / "bench" / "results"
SAMPLES = ROOT / "samples" / "demo"
CONFIDENCE = 0.25  # ultralytics' default: NMS sees what `yolo predict` would keep


@dataclass(frozen=True)
class Config:
    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    static_export: bool = False  # a static 640x640 OpenVINO export, registered as it is


OPENVINO = {"INFERENCE_BACKEND": "openvino"}
CONFIGS = (
    Config("torch", {"INFERENCE_BACKEND": "torch"}),
    Config("openvino LATENCY (default)", OPENVINO),
    Config("openvino THROUGHPUT", {**OPENVINO, "INFERENCE_OPENVINO_HINT": "THROUGHPUT"}),
    Config("openvino LATENCY 2 streams", {**OPENVINO, "INFERENCE_OPENVINO_STREAMS": 2}),
    Config("openvino pinned", {**OPENVINO, "INFERENCE_OPENVINO_PINNING": True}),
    Config("openvino f32", {**OPENVINO, "INFERENCE_OPENVINO_PRECISION": "f32"}),
    Config("openvino static 640x640 export", OPENVINO, static_export=True),
    Config("onnxruntime", {"INFERENCE_BACKEND": "onnxruntime"}),
)
# Run side by side in --processes processes (the pinning and thread-split question).
SHARED_CONFIGS = ("torch", "openvino LATENCY (default)", "openvino pinned")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.backends", description=__doc__)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default.pt")
    parser.add_argument("--input-size", type=int, default=640)
    parser.add_argument("--batch-sizes", default="1,8", help="the worker's: 1 and 8")
    parser.add_argument("--threads", default="", help="comma list of INFERENCE_THREADS to try")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--images", type=int, default=16, help="images per timed pass")
    parser.add_argument("--processes", type=int, default=2, help="0: skip the shared-core runs")
    parser.add_argument("--shared-repeats", type=int, default=3, help="runs of each, in turns")
    parser.add_argument("--shared-rounds", type=int, default=3, help="passes per process and run")
    parser.add_argument("--only", default="", help="comma list of configuration names")
    parser.add_argument("--export-dir", type=Path, help="default: a new temporary folder")
    parser.add_argument("--out", type=Path, help="default: bench/results/<time>-backends.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    export_dir = args.export_dir or Path(tempfile.mkdtemp(prefix="inspection-bench-exports-"))
    os.environ["INFERENCE_EXPORT_DIR"] = str(export_dir)  # before Django reads its settings
    _setup_django()
    from bench import environment
    from inspection.inference.export_cache import sha256

    configs = chosen_configs(args)
    sizes = [int(size) for size in args.batch_sizes.split(",")]
    document: dict[str, Any] = {
        "environment": environment.describe(args.model, sha256(args.model), "backends")
    }
    started = time.perf_counter()
    document["single"] = single_process(args, configs, sizes, export_dir)
    if args.processes > 1:
        document["shared"] = shared_cores(args, configs, sizes[-1], export_dir)
    document["load_after"] = environment.cpu_load()
    document["wall_seconds"] = round(time.perf_counter() - started, 1)
    out = args.out or RESULTS / f"{time.strftime('%Y-%m-%dT%H%M')}-backends.json"
    out.write_text(json.dumps(document, indent=1))
    print(tables(document, sizes))
    print(f"\nraw numbers: {out}")
    return 0


def chosen_configs(args: argparse.Namespace) -> list[Config]:
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    configs = [config for config in CONFIGS if not wanted or config.name in wanted]
    for threads in filter(None, args.threads.split(",")):
        for base in CONFIGS[:2]:
            extra = {**base.settings, "INFERENCE_THREADS": int(threads)}
            configs.append(Config(f"{base.name.split()[0]} {threads} thread(s)", extra))
    return configs


# --- one process, configurations in turns ------------------------------------------------------


def single_process(
    args: argparse.Namespace, configs: list[Config], sizes: list[int], export_dir: Path
) -> dict[str, Any]:
    arrays = sample_arrays(args.input_size)
    loaded = {config.name: load(config, args, export_dir) for config in configs}
    for entry in loaded.values():  # each batch shape once untimed: a new shape is set up lazily
        for size in sizes:
            time_pass(entry["model"], arrays, size, size)
    samples: dict[str, dict[int, list[float]]] = {c.name: {s: [] for s in sizes} for c in configs}
    for _ in range(args.rounds):
        for config in configs:
            for size in sizes:
                timed = time_pass(loaded[config.name]["model"], arrays, size, args.images)
                samples[config.name][size].append(timed)
    return {
        name: {
            "runtime": entry["model"].runtime,
            "backend": entry["model"].backend,
            "load_seconds": entry["load_seconds"],
            "ms_per_image": {size: summary(samples[name][size]) for size in sizes},
        }
        for name, entry in loaded.items()
    }


def load(config: Config, args: argparse.Namespace, export_dir: Path) -> dict[str, Any]:
    """The configuration's model as a worker loads it: the first load of a `.pt` for an export
    runtime includes making the export (a fresh export folder per run)."""
    from django.test import override_settings

    from inspection.inference.loaded import open_model

    path = static_export(args.model, args.input_size, export_dir) if config.static_export else None
    started = time.perf_counter()
    with override_settings(**config.settings):
        model = open_model(path or args.model, args.input_size)
    return {"model": model, "load_seconds": round(time.perf_counter() - started, 2)}


def static_export(weights: Path, input_size: int, export_dir: Path) -> Path:
    """What a static export (fixed 640x640 input, the exporter's default) costs, for comparison
    with the service's dynamic ones."""
    import shutil

    from inspection.inference import loader
    from inspection.inference.model_export import quiet_exporter
    from inspection.inference.openvino_telemetry import decline_openvino_telemetry

    folder = export_dir / "static"
    folder.mkdir(exist_ok=True)
    shutil.copyfile(weights, folder / "model.pt")
    decline_openvino_telemetry()
    with quiet_exporter():
        exported = loader.load_yolo(folder / "model.pt").export(format="openvino", imgsz=input_size)
    return Path(exported)


def sample_arrays(input_size: int) -> list[Any]:
    """The sample photos that pass preprocessing, resized as the pipeline does, of their most
    common shape (4:3 landscape: 640x480 at 640)."""
    from inspection.preprocessing import PreprocessConfig, preprocess

    config = PreprocessConfig.from_settings()
    arrays = []
    for path in sorted(SAMPLES.glob("*.jpg")):
        try:
            arrays.append(preprocess(path.read_bytes(), input_size, config).array)
        except Exception:  # the broken samples: not images to time
            continue
    shape, _ = Counter(array.shape for array in arrays).most_common(1)[0]
    return [array for array in arrays if array.shape == shape]


def time_pass(model: Any, arrays: list[Any], batch_size: int, images: int) -> float:
    """Milliseconds per image over `images` images in batches of `batch_size`."""
    batches = [
        [arrays[(start + i) % len(arrays)] for i in range(batch_size)]
        for start in range(0, images, batch_size)
    ]
    started = time.perf_counter()
    for batch in batches:
        model.predict(batch, conf=CONFIDENCE)
    return (time.perf_counter() - started) * 1000 / (len(batches) * batch_size)


def summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 1), "best": round(min(values), 1)}


# --- several processes on the same cores ------------------------------------------------------


def shared_cores(
    args: argparse.Namespace, configs: list[Config], batch_size: int, export_dir: Path
) -> dict[str, Any]:
    """Each shared configuration in `--processes` processes at once (after a warm-up, started
    together), as that many inference pool processes on the host: total images/s. The
    configurations take turns, `--shared-repeats` times, so a change in the host's other load
    falls on all of them alike; each is the median (and best) of its runs."""
    cores = os.cpu_count() or 1
    runs: dict[str, tuple[dict[str, Any], list[float]]] = {}
    for config in [config for config in configs if config.name in SHARED_CONFIGS]:
        # Every process with all the cores, then the cores split between them.
        for threads in sorted({cores, max(1, cores // args.processes)}, reverse=True):
            label = f"{config.name}, {args.processes} processes x {threads} thread(s)"
            runs[label] = ({**config.settings, "INFERENCE_THREADS": threads}, [])
    for _ in range(args.shared_repeats):
        for settings, rates in runs.values():
            rates.append(run_side_by_side(args, settings, batch_size, export_dir))
    return {
        label: {"images_per_second": summary_high(rates), "runs": rates}
        for label, (_, rates) in runs.items()
    }


def summary_high(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 1), "best": round(max(values), 1)}


def run_side_by_side(
    args: argparse.Namespace, settings: dict[str, Any], batch_size: int, export_dir: Path
) -> float:
    """Images per second of all the processes together."""
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(args.processes)
    queue = spawn.Queue()
    job = (str(args.model), args.input_size, settings, batch_size, args.images, args.shared_rounds)
    processes = [
        spawn.Process(target=_side_process, args=(job, str(export_dir), barrier, queue))
        for _ in range(args.processes)
    ]
    for process in processes:
        process.start()
    timings = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    images = sum(timing["images"] for timing in timings)
    return round(images / max(timing["seconds"] for timing in timings), 1)


def _side_process(job: tuple[Any, ...], export_dir: str, barrier: Any, queue: Any) -> None:
    path, input_size, settings, batch_size, images, rounds = job
    os.environ["INFERENCE_EXPORT_DIR"] = export_dir
    _setup_django()
    from django.test import override_settings

    from inspection.inference.loaded import open_model

    arrays = sample_arrays(input_size)
    with override_settings(**settings):
        model = open_model(Path(path), input_size)
    time_pass(model, arrays, batch_size, images)  # this batch shape warm, as in a worker
    barrier.wait()
    started = time.perf_counter()
    for _ in range(rounds):
        time_pass(model, arrays, batch_size, images)
    queue.put({"images": rounds * images, "seconds": time.perf_counter() - started})


# --- report -----------------------------------------------------------------------------------


def tables(document: dict[str, Any], sizes: list[int]) -> str:
    header = " | ".join(f"batch {size}" for size in sizes)
    lines = [
        f"ms per image, median (best) of the rounds; {_host(document['environment'])}",
        "",
        f"| configuration | runs as | first load s | {header} |",
        "|---|---|---|" + "---|" * len(sizes),
    ]
    for name, row in document["single"].items():
        cells = " | ".join(_cell(row["ms_per_image"][size]) for size in sizes)
        lines.append(f"| {name} | {row['runtime']} | {row['load_seconds']} | {cells} |")
    if document.get("shared"):
        lines += [
            "",
            "| side by side (batch of the largest size) | images/s in all, median (best) |",
        ]
        lines.append("|---|---|")
        for name, row in document["shared"].items():
            lines.append(f"| {name} | {_cell(row['images_per_second'])} |")
    load = (
        document["environment"]["load"]["loadavg_1_5_15"],
        document["load_after"]["loadavg_1_5_15"],
    )
    lines += ["", f"load average before {load[0]}, after {load[1]}"]
    return "\n".join(lines)


def _host(environment: dict[str, Any]) -> str:
    versions = environment["versions"]
    return (
        f"{environment['cpu_model']}, {environment['cpu_count']} cores; torch "
        f"{versions.get('torch')}, openvino {versions.get('openvino')}, onnxruntime "
        f"{versions.get('onnxruntime')}"
    )


def _cell(value: dict[str, float]) -> str:
    return f"{value['median']} ({value['best']})"


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


if __name__ == "__main__":
    sys.exit(main())
