"""The admin: every model is reachable, API keys cannot be created there (the raw key is shown
only by `create_api_key`) and their hash cannot be edited, pipeline fields are read-only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from inspection.models import ApiKey, Facility, Image
from tests.api_support import make_batch, make_model

MODELS = [
    "facility", "apikey", "modelversion", "thresholdpolicy", "batch", "image", "detection",
    "reviewtask",
]  # fmt: skip


@pytest.fixture
def admin_client(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


@pytest.mark.parametrize("model", MODELS)
def test_every_model_has_a_changelist(admin_client: Client, model: str) -> None:
    assert admin_client.get(f"/admin/inspection/{model}/").status_code == 200


def test_api_keys_cannot_be_added_in_the_admin(admin_client: Client) -> None:
    assert admin_client.get("/admin/inspection/apikey/add/").status_code == 403


def test_an_api_key_hash_is_shown_read_only(admin_client: Client, facility: Facility) -> None:
    key, _ = ApiKey.generate("k")
    key.save()
    html = admin_client.get(f"/admin/inspection/apikey/{key.pk}/change/").content.decode()
    assert key.key_hash in html and 'name="key_hash"' not in html


def test_revoking_keys_from_the_admin(admin_client: Client, facility: Facility) -> None:
    key, _ = ApiKey.generate("k")
    key.save()
    admin_client.post(
        "/admin/inspection/apikey/", {"action": "revoke", "_selected_action": [key.pk]}
    )
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_image_pipeline_fields_are_read_only(admin_client: Client, facility: Facility) -> None:
    batch = make_batch(facility, ["accepted"])
    image = batch.images.get()
    image.model_version = make_model()
    image.save()
    html = admin_client.get(f"/admin/inspection/image/{image.pk}/change/").content.decode()
    assert 'name="status"' not in html and 'name="storage_key"' not in html
    assert admin_client.get(f"/admin/inspection/batch/{batch.pk}/change/").status_code == 200
    assert Image.objects.get().status == "accepted"
