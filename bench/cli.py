"""`python -m bench run`: every benchmark side by side in one run, on the same images.

Order: images (untimed), the model in-process, batched vs image-by-image, then the service
(web + cpu worker + inference worker) and, per round, raw loops, `yolo predict` and the
pipeline back to back; then latency, memory and overload. One JSON file per run."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench import analytics, environment, images, report
from bench import context as ctx

BENCHMARKS = ("batching", "throughput", "latency", "fairness", "memory", "overload", "ceiling")
RESULTS = Path(__file__).resolve().parent / "results"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the benchmarks and write a JSON file")
    run.add_argument(
        "--only", default=",".join(BENCHMARKS), help="comma list of " + ", ".join(BENCHMARKS)
    )
    run.add_argument("--images", type=int, default=120, help="images per throughput round")
    run.add_argument("--rounds", type=int, default=2, help="throughput rounds (medians reported)")
    run.add_argument("--seed", type=int, default=7)
    run.add_argument("--image-cache", type=Path, default=images.DEFAULT_CACHE)
    run.add_argument("--model", type=Path, help="weights (default: models/default.pt, else dev)")
    run.add_argument("--device", default="cpu", help="cpu, or a GPU index such as 0")
    run.add_argument("--batch-size", type=int, help="inference batch size (default: settings)")
    run.add_argument("--threads", type=int, help="INFERENCE_THREADS for workers and raw loop")
    run.add_argument("--latency-runs", type=int, default=10)
    run.add_argument("--fairness-images", type=int, default=100, help="the other facility's batch")
    run.add_argument("--fairness-samples", type=int, default=3, help="one-image batches timed")
    run.add_argument("--memory-images", type=int, default=500, help="target: 5000 (~10+ min)")
    run.add_argument("--memory-chunk", type=int, default=50)
    run.add_argument("--overload-clients", type=int, default=6)
    run.add_argument("--overload-seconds", type=float, default=20.0)
    run.add_argument("--overload-max-submissions", type=int, default=60)
    run.add_argument("--overload-batch", type=int, default=4, help="images per submission")
    run.add_argument("--overload-max-pending", type=int, default=16)
    run.add_argument("--overload-retry-wait", type=float, default=0.5)
    run.add_argument("--out", type=Path, help="JSON path (default: bench/results/<time>.json)")
    run.add_argument("--work-dir", type=Path, help="run folder (default: a new temp folder)")
    run.add_argument("--db-name", default=ctx.BENCH_DB_NAME)
    run.add_argument("--redis-db", type=int, default=ctx.BENCH_REDIS_DB)
    run.add_argument("--timeout", type=float, default=600, help="per pipeline wait, seconds")
    analytics.add_parser(sub)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.command == "analytics":
        return analytics.run(args)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {sorted(unknown)}")
    context = ctx.make_context(args.work_dir, args.db_name, args.redis_db)
    ctx.export_environment(context, worker_overrides(args))
    ctx.reset_backends(context)
    import django

    django.setup()
    from bench.runner import Runner

    document = Runner(args, context, chosen).run()
    out = args.out or RESULTS / f"{time.strftime('%Y-%m-%dT%H%M')}-{short_mode(context)}.json"
    report.write(document, out)
    print(report.table(document))
    print(f"\nwrote {out}")
    return 0


def worker_overrides(args: argparse.Namespace) -> dict[str, str]:
    """Settings every process of the run shares (the workers read them at start)."""
    values: dict[str, str] = {"INFERENCE_DEVICE": environment.gpu_device(args.device) or "cpu"}
    if args.batch_size:
        values["INFERENCE_BATCH_SIZE"] = str(args.batch_size)
    if args.threads:
        values["INFERENCE_THREADS"] = str(args.threads)
    return values


def short_mode(context: ctx.RunContext) -> str:
    return "pg-redis" if context.database_url else "embedded"
