"""Metrics move when a batch goes through real workers: each worker's exporter (multiprocess
files of its pool) and the web's /metrics (its own requests plus broker and database gauges).
The inference worker logs JSON: the pipeline's ids arrive as keys."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from inspection.demo.processes import free_port
from inspection.inference import registry
from inspection.models import Batch, Facility, Image, ModelVersion
from tests import images
from tests.api_support import submit, upload
from tests.workers import CPU_QUEUES, WorkerSet, accepting_policy, wait_until, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= set(found))


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return parse(response.read().decode())


@pytest.fixture
def low_threshold_model(facility: Facility, dev_model_file: Path) -> ModelVersion:
    """Random weights, and a policy that keeps their faint boxes: confidences get observed."""
    model = registry.register_model(dev_model_file, "dev-untrained", "metrics", input_size=320)
    registry.activate_model(facility, model)
    accepting_policy(facility, min_confidence=0.001, default_threshold=0.001)
    return model


@pytest.fixture
def exporters(
    tmp_path: Path, media_root: Path, low_threshold_model: ModelVersion, redis_queues: redis.Redis
) -> Iterator[tuple[WorkerSet, dict[str, int]]]:
    ports = {"cpu": free_port(0), "inference": free_port(0)}
    logs = tmp_path / "logs"
    logs.mkdir()
    group = WorkerSet(
        worker_env(media_root, tmp_path / "var", WORKER_METRICS_ADDR="127.0.0.1"), logs
    )
    try:
        for name, queue, role in (("cpu", CPU_QUEUES, ""), ("inference", "gpu", "inference")):
            group.env = {
                **group.env,
                "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"metrics-{name}"),
                "WORKER_METRICS_PORT": str(ports[name]),
                "LOG_FORMAT": "json",
            }
            group.start(name, queue, role=role)
        group.workers["cpu"].wait_ready()
        group.workers["inference"].wait_ready()
        yield group, ports
    finally:
        group.stop_all()


def test_a_batch_moves_worker_and_web_metrics(
    exporters: tuple[WorkerSet, dict[str, int]], api_client: Any, admin_client: Client
) -> None:
    group, ports = exporters
    before = parse(admin_client.get("/metrics").content.decode())
    files = [
        upload("good-1.jpg", images.photo_jpeg(640, 480, seed=1)),
        upload("good-2.jpg", images.photo_jpeg(640, 480, seed=2)),
        upload("corrupt.jpg", images.corrupt_jpeg()),
    ]
    response = submit(api_client, files)
    assert response.status_code == 202, response.content
    batch_id = response.json()["id"]
    done = Batch.objects.filter(pk=batch_id, status=Batch.Status.COMPLETED).exists
    assert wait_until(done, 120, 0.05), list(Image.objects.values("status", "reason"))
    # Task-success counters move right after the task returns, a moment after the commit. One
    # message per batch: a preprocess task for the three images, a validate task for the two.
    assert wait_until(lambda: value(scrape(ports["cpu"]), "inspection_tasks_total") >= 2, 10)

    cpu, inference = scrape(ports["cpu"]), scrape(ports["inference"])
    assert value(cpu, "inspection_stage_duration_seconds_count", stage="preprocess") == 3
    assert value(cpu, "inspection_stage_duration_seconds_count", stage="validate") == 2
    assert value(cpu, "inspection_queue_wait_seconds_count", stage="preprocess") == 3
    assert value(cpu, "inspection_images_finished_total", status="failed") == 1
    assert value(cpu, "inspection_images_finished_total", status="accepted") == 2
    assert value(cpu, "inspection_tasks_total", outcome="success") == 2
    published = "inspection_messages_published_total"
    assert value(cpu, published, task="inspection.infer_image") == 1
    assert value(inference, published, task="inspection.validate_image") == 1
    assert value(cpu, "inspection_sql_statements_total") > 0
    assert value(cpu, "inspection_detection_confidence_count", facility="dc-north") > 0
    assert value(cpu, "inspection_model_loads_total") == 0  # the cpu worker loads no model

    assert value(inference, "inspection_stage_duration_seconds_count", stage="infer") == 2
    assert value(inference, "inspection_inference_batch_size_count") >= 1
    assert value(inference, "inspection_inference_batch_size_sum") == 2
    assert value(inference, "inspection_tasks_total", task="inspection.infer_image") >= 1
    assert value(inference, "inspection_model_loads_total") == 1
    assert value(inference, "inspection_model_loads_per_process") == 1
    assert value(inference, "inspection_model_load_seconds_count") == 1
    # On this CPU host the `.pt` model runs through its OpenVINO export (the default backend).
    assert value(inference, "inspection_inference_backend_info", backend="openvino") == 1
    assert value(inference, "inspection_inference_backend_info", backend="torch") == 0
    # No worker-side number is served by the web, so nothing is counted twice.
    web = parse(admin_client.get("/metrics").content.decode())
    stages = "inspection_stage_duration_seconds_count"  # other tests ran stages in-process
    assert value(web, stages) == value(before, stages)
    assert value(web, "inspection_queue_depth", queue="gpu") == 0
    assert value(web, "inspection_workers_alive", role="inference") == 1
    assert value(web, "inspection_workers_alive", role="cpu") == 1
    sent = value(web, published, task="inspection.preprocess_image")
    assert sent == value(before, published, task="inspection.preprocess_image") + 1
    posts = value(web, "inspection_http_requests_total", view="api:batch-list", status="202")
    assert (
        posts
        == value(before, "inspection_http_requests_total", view="api:batch-list", status="202") + 1
    )

    for name, task in (
        ("cpu", "inspection.validate_image"),
        ("inference", "inspection.infer_image"),
    ):
        lines = json_lines(group.workers[name].log())
        ours = [line for line in lines if line.get("task") == task]
        assert ours, lines[-5:]
        assert {"batch_id", "image_id", "celery_task_id", "message"} <= set(ours[-1])
        assert ours[-1]["batch_id"] == batch_id


def json_lines(log: str) -> list[dict[str, Any]]:
    """Every line a worker logged after start-up (Celery's banner is plain text) is JSON."""
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]
