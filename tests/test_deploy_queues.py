"""The deployment files start each kind of worker on the queues that inspection/pipeline/stages.py
gives it, KEDA scales each on the Redis lists its stages' messages wait in, and a pod's grace
period outlasts the longest stage. The files cannot import the definitions, so this test holds
them to it: a stage moved to another queue or priority fails here until the files follow."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from inspection.observability import broker
from inspection.pipeline.stages import CPU_ROLE, INFERENCE_ROLE, STAGES, WorkerRole

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
SERVICE_ROLES = {"cpu-worker": CPU_ROLE, "inference-worker": INFERENCE_ROLE}


def queues_of(command: list[str]) -> str:
    assert command[:4] == ["celery", "-A", "config", "worker"], command
    return command[command.index("-Q") + 1]


def k8s_documents() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


def k8s_named(kind: str, name: str) -> dict[str, Any]:
    [doc] = [d for d in k8s_documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def dockerfile_cmd(path: Path) -> list[str]:
    text = path.read_text().replace("\\\n", " ")
    [cmd] = re.findall(r"^CMD (\[.*\])$", text, re.MULTILINE)
    return list(json.loads(cmd))


@pytest.mark.parametrize("service", sorted(SERVICE_ROLES))
def test_compose_workers_consume_their_roles_queues(service: str) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = shlex.split(compose["services"][service]["command"])
    assert queues_of(command) == SERVICE_ROLES[service].queue_arg


@pytest.mark.parametrize("service", sorted(SERVICE_ROLES))
def test_k8s_workers_consume_their_roles_queues(service: str) -> None:
    pod = k8s_named("Deployment", service)["spec"]["template"]["spec"]
    assert queues_of(pod["containers"][0]["command"]) == SERVICE_ROLES[service].queue_arg


def test_the_cuda_image_runs_an_inference_worker() -> None:
    assert queues_of(dockerfile_cmd(ROOT / "docker" / "Dockerfile.cuda")) == (
        INFERENCE_ROLE.queue_arg
    )


def stage_lists(role: WorkerRole) -> set[str]:
    """The Redis lists a role's stage messages wait in (one per queue and priority step)."""
    return {broker.priority_key(stage.queue, stage.priority) for stage in role.stages()}


@pytest.mark.parametrize("service", sorted(SERVICE_ROLES))
def test_keda_watches_every_list_its_stages_messages_wait_in(service: str) -> None:
    triggers = k8s_named("ScaledObject", service)["spec"]["triggers"]
    watched = {trigger["metadata"]["listName"] for trigger in triggers}
    assert watched == stage_lists(SERVICE_ROLES[service])


@pytest.mark.parametrize("service", sorted(SERVICE_ROLES))
def test_a_worker_pod_outlasts_its_longest_stage_when_stopped(service: str) -> None:
    pod = k8s_named("Deployment", service)["spec"]["template"]["spec"]
    longest = max(stage.hard_limit for stage in SERVICE_ROLES[service].stages())
    assert pod["terminationGracePeriodSeconds"] > longest


def test_every_stage_has_a_worker_role() -> None:
    consumed = {stage.name for role in SERVICE_ROLES.values() for stage in role.stages()}
    assert consumed == {stage.name for stage in STAGES}
