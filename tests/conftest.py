"""Shared actors and fixtures: two facilities, an integrator key for each, API clients, a
temporary MEDIA_ROOT, the untrained dev model, the test Redis database, reviewers (a member of
the facility and an outsider who belongs to the other one), and for webhooks a real receiver and
a recorder of the messages the app would send."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from inspection.inference import registry
from inspection.models import ApiKey, Facility, ModelVersion
from inspection.observability import broker
from inspection.pipeline import backpressure
from inspection.services.facilities import create_facility
from tests.api_support import Published
from tests.review_support import make_member
from tests.webhook_receiver import Receiver, receiver
from tests.webhook_support import Sent, key_with_webhook
from tests.workers import TEST_REDIS_URL


def make_api_key(*facilities: Facility, name: str = "integrator") -> str:
    key, raw = ApiKey.generate(name)
    key.save()
    key.facilities.set(facilities)
    return raw


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing() -> Iterator[None]:
    """Reviewers sign in with passwords; PBKDF2 at production strength costs half a second per
    user on this machine, which the suite would pay hundreds of times (Django's advice for
    tests). Only this process: a server the tests start as a subprocess hashes as configured,
    and no test signs in to one."""
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    fast.enable()
    yield
    fast.disable()


@pytest.fixture(autouse=True)
def fresh_batch_estimate() -> Iterator[None]:
    """The inference batch size adapts to the time per image a process measured: no test
    inherits another's measurement."""
    from inspection.pipeline import batching

    batching.observe(0.0)
    yield
    batching.observe(0.0)


@pytest.fixture(autouse=True)
def no_held_mark(request: pytest.FixtureRequest) -> Iterator[None]:
    """The back-pressure mark (pipeline/backpressure.py) lives in Redis beside the test's
    database: a test that left images held must not wake another test's."""
    yield
    url = settings.CELERY_BROKER_URL
    if request.node.get_closest_marker("django_db") and broker.is_redis(url):
        try:
            broker.redis_client(url).delete(*backpressure.KEYS)
        except redis.RedisError:
            pass  # a test that stopped its own Redis


@pytest.fixture
def facility(db: None) -> Facility:
    """Created as every documented path creates one: with the bundled default model active."""
    return create_facility("dc-north", "North DC")


@pytest.fixture
def other_facility(db: None) -> Facility:
    return create_facility("dc-south", "South DC")


@pytest.fixture
def bare_facility(db: None) -> Facility:
    """A facility without a model (made by hand in the database, or before models existed)."""
    return Facility.objects.create(slug="dc-bare", name="Bare DC")


@pytest.fixture
def api_key(facility: Facility) -> str:
    return make_api_key(facility)


@pytest.fixture
def other_api_key(other_facility: Facility) -> str:
    return make_api_key(other_facility, name="outsider")


@pytest.fixture
def api_client(api_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    return client


@pytest.fixture
def outsider_client(other_api_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {other_api_key}")
    return client


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    """Stored files land in a temporary directory, never in the repository."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> Iterator[Published]:
    """Records what the app would send to the broker instead of sending it."""
    from config.celery_app import app

    recorder = Published()
    monkeypatch.setattr(app, "send_task", recorder.send_task)
    yield recorder


@pytest.fixture(scope="session")
def dev_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One untrained yolov8n per test session (random, seeded weights: plumbing only)."""
    return registry.build_untrained_model(tmp_path_factory.mktemp("models") / "dev.pt")


@pytest.fixture
def dev_model(facility: Facility, dev_model_file: Path) -> ModelVersion:
    """The dev model at 320 px (fast on CPU), active for the facility."""
    model = registry.register_model(dev_model_file, "dev", "test", input_size=320)
    registry.activate_model(facility, model)
    return model


@pytest.fixture
def reviewer(facility: Facility) -> Any:
    """A reviewer at the facility (session login)."""
    return make_member("rita", facility)


@pytest.fixture
def outsider(other_facility: Facility) -> Any:
    """A reviewer at the other facility only."""
    return make_member("otto", other_facility)


@pytest.fixture
def reviewer_client(client: Any, reviewer: Any) -> Any:
    client.force_login(reviewer)
    return client


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    """Records the webhook messages the app would send (with their countdown)."""
    from config.celery_app import app

    recorder = Sent()
    monkeypatch.setattr(app, "send_task", recorder.send_task)
    return recorder


@pytest.fixture
def hook() -> Iterator[Receiver]:
    """A real HTTP receiver for webhooks on 127.0.0.1."""
    with receiver() as server:
        yield server


@pytest.fixture
def loopback_allowed(settings: Any) -> None:
    """Webhooks may target 127.0.0.1 (the receiver)."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def key(facility: Facility, hook: Receiver) -> ApiKey:
    """A key of the facility whose webhook URL is the receiver's."""
    return key_with_webhook(facility, hook.url)


@pytest.fixture
def keep_torch_threads() -> Iterator[None]:
    """Restore torch's thread count: the offline training tools raise it to every core."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def redis_queues() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(TEST_REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
