"""One multi-host run: host A's services, workers on B, then on B and C, and a last round in
which every process of C is killed mid-run. Each round's images are submitted to A over HTTP
and audited from A's database and object store (bench/multihost/audit.py).

Rounds:
- `b_only`: workers on B only, `throughput_images` images, images/s;
- `b_and_c`: C's workers started too, the same number of new images, images/s;
- `kill_c`: `images` new images; once `kill_after` of them finished and C's workers hold
  claims, every process of C gets SIGKILL; the round ends when every batch completed (B alone
  finishes C's share) and its audit must show nothing lost or doubled."""

from __future__ import annotations

import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.multihost import images, traffic
from bench.multihost.audit import audit
from bench.multihost.cluster import Cluster, Options
from bench.multihost.postgres import PORT as POSTGRES_PORT
from bench.multihost.services import REDIS_PORT, node_name

# Every service process: sweeps every second and a prompt re-send of messages a dead host took
# with it, so recovery is measured in seconds (the defaults are 5 s and 30 s); one inference
# thread per worker (each host is pinned to its own core below).
SETTINGS = {
    "PIPELINE_SWEEP_INTERVAL_SECONDS": "1",
    "PIPELINE_RESEND_SECONDS": "5",
    "INFERENCE_THREADS": "1",
    "OMP_NUM_THREADS": "1",
}


@dataclass(frozen=True)
class RunOptions:
    images: int = 500  # the kill round
    throughput_images: int = 200  # each of the B-only and B+C rounds
    kill_after: float = 0.3  # share of the kill round finished before C is killed
    timeout: float = 600.0  # per round
    # Worker host -> its cores ("" for none): on a 2-core machine B gets core 0 and C core 1,
    # so "B only" is one host's worth of CPU and "B and C" two; A stays unpinned.
    cores: tuple[tuple[str, str], ...] = (("b", "0"), ("c", "1"))
    work_dir: Path | None = None
    keep: bool = False  # keep the run folder (logs, data) after the run


def run(options: RunOptions) -> dict[str, Any]:
    folder = options.work_dir or Path(tempfile.mkdtemp(prefix="inspection-multihost-"))
    cluster = Cluster(folder, Options(settings=SETTINGS, cores=_cores(options)))
    document: dict[str, Any] = {"options": _options_json(options), "host": _host()}
    started = time.monotonic()
    document["logs"] = str(folder)
    try:
        with cluster:
            document["start_seconds"] = round(time.monotonic() - started, 1)
            document["isolation"] = isolation(cluster)
            document["rounds"] = _rounds(cluster, options)
    except BaseException as exc:
        exc.add_note(f"the run's logs and data are kept in {folder}")
        raise
    document["seconds"] = round(time.monotonic() - started, 1)
    document["verdict"] = verdict(document)
    # A run that went wrong keeps its folder (every host's logs, A's data) for the post-mortem.
    if document["verdict"]["all_ok"] and not options.keep:
        cluster.remove_folder()
    return document


EXPECTED_ISOLATION = {
    "b_reaches_a_postgres": True,
    "b_reaches_a_redis": True,
    "b_reaches_a_object_store": True,
    "b_reaches_loopback_postgres": False,
    "b_reaches_loopback_redis": False,
}


def isolation(cluster: Cluster) -> dict[str, bool]:
    """The hosts are separate: B reaches A's PostgreSQL and Redis over the bridge only; this
    machine's own loopback servers (the suite's PostgreSQL and Redis) are not B's loopback."""
    a = cluster.host("a").ip
    return {
        "b_reaches_a_postgres": cluster.reaches("b", a, POSTGRES_PORT),
        "b_reaches_a_redis": cluster.reaches("b", a, REDIS_PORT),
        "b_reaches_a_object_store": cluster.reaches("b", a, cluster.seaweed.ports.http["s3"]),
        "b_reaches_loopback_postgres": cluster.reaches("b", "127.0.0.1", POSTGRES_PORT),
        "b_reaches_loopback_redis": cluster.reaches("b", "127.0.0.1", REDIS_PORT),
    }


def _rounds(cluster: Cluster, options: RunOptions) -> dict[str, Any]:
    rounds: dict[str, Any] = {}
    b_nodes = cluster.start_workers("b")
    cluster.wait_ready(b_nodes)
    rounds["b_only"] = throughput_round(cluster, "b-only", options)
    c_nodes = cluster.start_workers("c")
    cluster.wait_ready(b_nodes + c_nodes)
    rounds["b_and_c"] = throughput_round(cluster, "b-and-c", options)
    rounds["kill_c"] = kill_round(cluster, options)
    return rounds


def throughput_round(cluster: Cluster, name: str, options: RunOptions) -> dict[str, Any]:
    files = images.uploads(name, options.throughput_images, _seed(name))
    before = cluster.work_done()
    submitted = _submit(cluster, files)
    completed = traffic.wait_finished(cluster.postgres, submitted, options.timeout, cluster.dead)
    found = audit(cluster.postgres, cluster.seaweed, submitted, cluster.worker_logs())
    return {
        **traffic.timing(submitted, completed),
        "work_by_host": work_since(before, cluster.work_done()),
        "audit": found.as_json(),
    }


def kill_round(cluster: Cluster, options: RunOptions) -> dict[str, Any]:
    files = images.uploads("kill-c", options.images, _seed("kill-c"))
    before = cluster.work_done()
    submitted = _submit(cluster, files)
    held, finished_at_kill = _kill_when_busy(cluster, submitted, options)
    killed_at = time.time()
    completed = traffic.wait_finished(cluster.postgres, submitted, options.timeout, cluster.dead)
    found = audit(cluster.postgres, cluster.seaweed, submitted, cluster.worker_logs())
    return {
        **traffic.timing(submitted, completed),
        "finished_before_kill": finished_at_kill,
        "held_by_c_at_kill": len(held),
        "work_by_host": work_since(before, cluster.work_done()),
        # From the kill until the last image C held finished on B (the sweeper noticed C's
        # heartbeat stop, freed its claims and re-sent the messages C had taken).
        "held_recovered_seconds": round(
            traffic.last_finished(cluster.postgres, held) - killed_at, 2
        ),
        "after_kill_seconds": round(completed - killed_at, 2),
        "audit": found.as_json(),
    }


def work_since(
    before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]
) -> dict[str, dict[str, int]]:
    """Stage completions per host during a round (a stage redone after the kill counts again
    on the host that redid it)."""
    return {
        host: {stage: count - before[host][stage] for stage, count in stages.items()}
        for host, stages in after.items()
    }


def _kill_when_busy(
    cluster: Cluster, submitted: traffic.Submitted, options: RunOptions
) -> tuple[list[str], int]:
    """SIGKILL to every process of C once enough finished and C's workers hold images (its
    claims are what a dead host must not lose). Returns the images C held and how many had
    finished."""
    host = cluster.host("c")
    suffix = node_name("", host).lstrip("@")
    wanted = int(options.kill_after * submitted.uploads)
    deadline = time.monotonic() + options.timeout
    while time.monotonic() < deadline:
        done = traffic.finished(cluster.postgres, submitted.batch_ids)
        if done >= wanted and (held := traffic.held_by(cluster.postgres, suffix)):
            cluster.kill_host("c")
            return held, done
        if done == submitted.uploads:
            raise RuntimeError("the round finished before host C could be killed mid-run")
        time.sleep(0.05)
    raise RuntimeError(f"host C never held an image after {wanted} finished")


def _submit(cluster: Cluster, files: list[traffic.NamedFile]) -> traffic.Submitted:
    assert cluster.provisioned is not None
    key, facility = cluster.provisioned.key, cluster.provisioned.facility
    return traffic.submit_all(cluster.web_url, key, facility, files)


def verdict(document: dict[str, Any]) -> dict[str, Any]:
    rounds = document.get("rounds", {})
    b_only = rounds.get("b_only", {}).get("images_per_s", 0.0)
    both = rounds.get("b_and_c", {}).get("images_per_s", 0.0)
    audits = {name: found["audit"]["nothing_lost_or_doubled"] for name, found in rounds.items()}
    isolated = document.get("isolation") == EXPECTED_ISOLATION
    return {
        "b_only_images_per_s": b_only,
        "b_and_c_images_per_s": both,
        "speedup": round(both / b_only, 2) if b_only else None,
        "nothing_lost_or_doubled": audits,
        "kill_round_ok": audits.get("kill_c", False),
        "hosts_isolated": isolated,
        "all_ok": isolated and bool(audits) and all(audits.values()),
    }


def _cores(options: RunOptions) -> dict[str, str]:
    return {host: cores for host, cores in options.cores if cores}


def _seed(name: str) -> int:
    """Distinct images in each round (a different first seed)."""
    return {"b-only": 0, "b-and-c": 100_000, "kill-c": 200_000}[name]


def _options_json(options: RunOptions) -> dict[str, Any]:
    return {
        "images": options.images,
        "throughput_images": options.throughput_images,
        "kill_after": options.kill_after,
        "cores": dict(options.cores),
        "settings": SETTINGS,
        "image_size": list(images.SIZE),
        "model": "bundled-small (models/default.pt at 320 px)",
    }


def _host() -> dict[str, Any]:
    import os

    return {
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
