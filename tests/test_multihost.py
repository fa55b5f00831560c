"""Several hosts, for real (bench/multihost): three network namespaces joined by a bridge. Host A
runs PostgreSQL, Redis, the web, beat and SeaweedFS; hosts B and C run a CPU and an inference
worker each and reach A only over the bridge, keeping originals and arrays in A's object store
(no shared disk). 500 images are submitted to A and every process of C is killed mid-run:
everything completes, nothing is lost or done twice, and everything is taken down again."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench.multihost.network import PREFIX
from bench.multihost.run import EXPECTED_ISOLATION, RunOptions, run

pytestmark = [pytest.mark.slow, pytest.mark.external]  # root, ip netns, weed, postgres, redis


def leftovers(run_id: int) -> list[str]:
    """Namespaces and links of this process's runs still present."""
    mine = f"{PREFIX}{run_id}"
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return [line for line in (namespaces + links).splitlines() if mine in line]


def report(capsys: pytest.CaptureFixture[str], document: dict[str, Any]) -> None:
    rounds = document["rounds"]
    kill = rounds["kill_c"]
    with capsys.disabled():
        print(
            f"\n[multihost] start {document['start_seconds']}s; "
            f"B only {rounds['b_only']['images_per_s']} img/s, "
            f"B and C {rounds['b_and_c']['images_per_s']} img/s; "
            f"kill round: {kill['images']} images in {kill['seconds']}s, C killed holding "
            f"{kill['held_by_c_at_kill']} after {kill['finished_before_kill']} finished, "
            f"its images done {kill['held_recovered_seconds']}s after the kill; "
            f"statuses {kill['audit']['statuses']}; total {document['seconds']}s"
        )


def test_killing_every_process_of_a_worker_host_loses_and_doubles_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert os.geteuid() == 0, "network namespaces need root (make test runs as root)"
    options = RunOptions(images=500, throughput_images=100, kill_after=0.3, timeout=240)
    try:
        document = run(options)
    finally:
        assert leftovers(os.getpid()) == []  # namespaces, veths and bridge all removed
    report(capsys, document)

    # B reaches A's servers over the bridge, not this machine's servers on its own loopback.
    assert document["isolation"] == EXPECTED_ISOLATION
    kill = document["rounds"]["kill_c"]
    found = kill["audit"]
    assert found["uploads"] == found["rows"] == 500
    assert found["completions_logged"] == 5  # batches of 100, each completed exactly once
    assert found["nothing_lost_or_doubled"], (found, document["logs"])
    # C really held work when it died, and the round was mid-way.
    assert kill["held_by_c_at_kill"] > 0
    assert 150 <= kill["finished_before_kill"] < 500
    # B finished what C held once C's heartbeat expired (15 s) and the sweeper freed it.
    assert kill["held_recovered_seconds"] < 60, kill
    # The boxes check means something: the model found boxes in most images.
    assert found["images_with_boxes"] > 250, found
    for name in ("b_only", "b_and_c"):
        done = document["rounds"][name]
        assert done["audit"]["nothing_lost_or_doubled"], (name, done["audit"])
        assert done["images"] == 100 and done["images_per_s"] > 0
    # Who did the work: B alone, then both hosts; C's share of the kill round ends at the kill.
    rounds = document["rounds"]
    assert rounds["b_only"]["work_by_host"]["c"] == {"preprocessed": 0, "inferred": 0}
    assert rounds["b_only"]["work_by_host"]["b"]["inferred"] == 100
    both = rounds["b_and_c"]["work_by_host"]
    assert both["b"]["inferred"] > 0 and both["c"]["inferred"] > 0
    assert both["b"]["inferred"] + both["c"]["inferred"] == 100
    assert 0 < kill["work_by_host"]["c"]["inferred"] < 500
    assert document["verdict"]["all_ok"]
    assert not Path(document["logs"]).exists()  # a run that went well removes its folder
