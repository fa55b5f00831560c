"""`python -m bench.multihost [options]` (as root): the three-host run of bench/multihost/run.py;
writes one JSON file and prints its verdict. bench/README.md, "Several hosts"."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from bench.multihost.run import RunOptions, run

RESULTS = Path(__file__).resolve().parent.parent / "results"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.multihost")
    parser.add_argument("--images", type=int, default=500, help="the kill round's images")
    parser.add_argument("--throughput-images", type=int, default=200, help="per B / B+C round")
    parser.add_argument("--kill-after", type=float, default=0.3, help="share finished first")
    parser.add_argument("--cores", default="b=0,c=1", help="host=cpu-list pins ('' for none)")
    parser.add_argument("--timeout", type=float, default=600, help="per round, seconds")
    parser.add_argument("--work-dir", type=Path, help="run folder (default: a new temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the run folder and its logs")
    parser.add_argument("--out", type=Path, help="JSON path (default: bench/results/<time>-...)")
    return parser.parse_args(argv)


def options(args: argparse.Namespace) -> RunOptions:
    pins = [item.split("=", 1) for item in args.cores.split(",") if "=" in item]
    return RunOptions(
        images=args.images,
        throughput_images=args.throughput_images,
        kill_after=args.kill_after,
        timeout=args.timeout,
        cores=tuple((host, cores) for host, cores in pins),
        work_dir=args.work_dir,
        keep=args.keep,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # The cluster's processes read the settings from their environment; this process only
    # uses Django to name storage keys (no database of its own).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    document = run(options(args))
    out = args.out or RESULTS / f"{time.strftime('%Y-%m-%dT%H%M')}-multihost.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps(document["verdict"], indent=2))
    print(f"\nwrote {out}")
    if not document["verdict"]["all_ok"]:
        print(f"kept the run's logs and data in {document['logs']}")
    return 0 if document["verdict"]["all_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
