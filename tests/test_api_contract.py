"""The OpenAPI schema is the truth: Schemathesis, with every check and phase it has, finds no
difference between what `/api/v1/schema/` promises and what the live API answers (status codes,
content types, bodies, headers, server errors, valid data accepted and invalid data refused,
auth enforced), on every operation, with a key and real data behind it. Below it, the schema's
conventions (every error documented in our shape) and the strict query parameters it relies on.

Settings of the run: tests/schemathesis.toml; generated uploads: tests/schemathesis_hooks.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from inspection.api.pagination import MAX_PAGE_SIZE
from inspection.models import (
    ApiKey,
    Batch,
    Detection,
    DriftAlert,
    Facility,
    Image,
    ModelVersion,
    ThresholdPolicy,
)
from inspection.observability.broker import queue_keys
from inspection.webhooks.delivery import announce_batch_completed
from tests.api_support import BATCHES_URL, add_detection, make_batch
from tests.web_server import running_web
from tests.workers import ROOT, worker_env

DRIFT_ALERT_ID = 4242

pytestmark = pytest.mark.slow

CONFIG = ROOT / "tests" / "schemathesis.toml"
# Schemathesis' own run takes about 15 s here; far more means something hangs.
RUN_TIMEOUT_SECONDS = 300


def schemathesis_run(
    base_url: str, raw_key: str, workdir: Path
) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file", str(CONFIG), "--no-color",
        "run", f"{base_url}/api/v1/schema/",
        "--header", f"Authorization: Api-Key {raw_key}",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the hooks module lives in tests/
    # Run in a scratch folder: whatever the tool writes stays out of the working tree.
    return subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS
    )


def finished_batch(facility: Facility, key: ApiKey, model: ModelVersion) -> Batch:
    """A completed batch with an image in every final state the API shows: accepted with boxes,
    failed before any model ran (nulls), still in review, and decided by a reviewer; its
    `batch.completed` webhook (to a URL with credentials) delivered."""
    statuses = [Image.Status.ACCEPTED, Image.Status.FAILED, Image.Status.NEEDS_REVIEW]
    batch = make_batch(
        facility,
        [*statuses, Image.Status.NEEDS_REVIEW],
        api_key=key,
        status=Batch.Status.COMPLETED,
        completed_at=timezone.now(),
        webhook_url="https://integrator:hook-secret@hooks.example.com/inspection",
    )
    images = list(batch.images.order_by("position"))
    Image.objects.filter(pk__in=[images[0].pk, images[2].pk, images[3].pk]).update(
        model_version=model, width=320, height=240, format="JPEG", finished_at=timezone.now()
    )
    for image in (images[0], images[2], images[3]):
        add_detection(image, model)
    # Every kind of thresholds an image can show (the failed one has none: null).
    policy = ThresholdPolicy.objects.create(facility=facility, model_version=model, source="manual")
    Image.objects.filter(pk=images[0].pk).update(threshold_source="calibrated", multi_frame=True)
    Image.objects.filter(pk=images[2].pk).update(threshold_source="manual", policy=policy)
    Image.objects.filter(pk=images[3].pk).update(threshold_source="review_all")
    reviewer = get_user_model().objects.create_user("rita")
    images[3].record_verdict(Image.Verdict.REJECTED, reviewer, timezone.now(), "damaged", "torn")
    Detection.objects.create(
        image=images[3], source=Detection.Source.REVIEWER, class_id=0, class_name="box",
        x1=1.0, y1=2.0, x2=3.0, y2=4.0,
    )  # fmt: skip
    delivery = announce_batch_completed(batch.pk)
    assert delivery is not None
    delivery.__class__.objects.filter(pk=delivery.pk).update(
        status="delivered", attempts=1, delivered_at=timezone.now()
    )
    return batch


@pytest.fixture
def web(transactional_db: None, tmp_path: Path, redis_queues: redis.Redis) -> Iterator[str]:
    """gunicorn with the project's config, on the test database. Uploads land in a temporary
    folder, tasks in the test's Redis database, and webhook URLs are not resolved (whether a
    host is public is a fact of DNS, which no schema can describe)."""
    env = worker_env(
        tmp_path / "media",
        tmp_path / "var",
        WEBHOOK_ALLOW_PRIVATE_TARGETS="1",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    with running_web(env, tmp_path / "web.log") as url:
        yield url


@pytest.fixture
def contract_key(facility: Facility, dev_model: ModelVersion) -> str:
    """A key for the facility (which has an active model) that sees a finished batch."""
    key, raw = ApiKey.generate("contract")
    key.save()
    key.facilities.set([facility])
    finished_batch(facility, key, dev_model)
    # An open drift alert, under the id the run's dictionary names (schemathesis.toml).
    DriftAlert.objects.create(
        pk=DRIFT_ALERT_ID, facility=facility, model_version=dev_model, class_name="box",
        kind=DriftAlert.Kind.DRIFT, statistic=0.4, cutoff=0.2,
    )  # fmt: skip
    return raw


def test_schemathesis_finds_the_api_true_to_its_schema(
    web: str, contract_key: str, redis_queues: redis.Redis, tmp_path: Path
) -> None:
    run = schemathesis_run(web, contract_key, tmp_path)
    report = run.stdout + run.stderr
    print(report)  # shown with -s, or on failure
    assert run.returncode == 0, report[-20_000:]
    assert "26 selected / 26 total" in report, report[-5_000:]
    # Submissions with generated files were accepted (202, not only refusals) and their images
    # queued for preprocessing.
    assert Batch.objects.count() > 1
    assert sum(redis_queues.llen(key) for key in queue_keys(settings.CPU_QUEUE_NAME)) > 0


# --- the conventions the run relies on --------------------------------------------------------


@pytest.fixture
def schema(db: None) -> dict[str, Any]:
    return dict(APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json())


def operations(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def test_every_operation_documents_its_401(schema: dict[str, Any]) -> None:
    missing = [name for name, op in operations(schema) if "401" not in op["responses"]]
    assert missing == []


def test_every_error_answer_is_documented_in_our_shape(schema: dict[str, Any]) -> None:
    error_ref = "#/components/schemas/ErrorOutput"
    wrong = [
        f"{name} {status}"
        for name, op in operations(schema)
        for status, answer in op["responses"].items()
        if int(status) >= 400
        and answer["content"]["application/json"]["schema"].get("$ref") != error_ref
    ]
    assert wrong == []
    assert set(schema["components"]["schemas"]["ErrorOutput"]["required"]) == {"code", "detail"}


def test_the_images_field_is_required_and_bounded(schema: dict[str, Any], settings: Any) -> None:
    body = schema["components"]["schemas"]["BatchSubmitInput"]
    assert "images" in body["required"]
    assert (body["properties"]["images"]["minItems"], body["properties"]["images"]["maxItems"]) == (
        1,
        settings.MAX_FILES_PER_BATCH,
    )


def test_an_image_no_model_ran_on_may_have_a_null_model_version(schema: dict[str, Any]) -> None:
    image = schema["components"]["schemas"]["ImageOutput"]["properties"]
    assert image["model_version"]["nullable"] is True


@pytest.mark.parametrize(
    "query",
    ["page=0", "page=abc", "page=", "page_size=0", "page_size=many", "status=", "facility="],
)
def test_malformed_list_parameters_are_400_invalid(api_client: APIClient, query: str) -> None:
    response = api_client.get(f"{BATCHES_URL}?{query}")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert query.split("=")[0] in response.json()["errors"]


def test_a_page_past_the_last_is_404_in_our_shape(api_client: APIClient) -> None:
    response = api_client.get(f"{BATCHES_URL}?page=2")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Invalid page."}


def test_a_page_size_over_the_cap_is_served_at_the_cap(
    api_client: APIClient, facility: Facility
) -> None:
    Batch.objects.bulk_create(Batch(facility=facility) for _ in range(MAX_PAGE_SIZE + 1))
    response = api_client.get(f"{BATCHES_URL}?page_size={MAX_PAGE_SIZE * 10}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == MAX_PAGE_SIZE
    assert response.json()["next"] is not None


def test_a_blank_image_status_filter_is_400(api_client: APIClient, facility: Facility) -> None:
    batch = make_batch(facility, [Image.Status.ACCEPTED])
    response = api_client.get(f"{BATCHES_URL}{batch.pk}/images/?status=")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
