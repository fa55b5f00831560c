"""API keys: who gets in, what a refusal looks like, and how keys are made."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from inspection.models import ApiKey, Facility
from tests.api_support import BATCHES_URL


def client_with(**headers: str) -> APIClient:
    client = APIClient()
    client.credentials(**headers)
    return client


def key_row(raw: str) -> ApiKey:
    return ApiKey.objects.get(prefix=raw.split(".")[0])


@pytest.mark.django_db
def test_no_key_is_401_not_authenticated_with_challenge() -> None:
    response = APIClient().get(BATCHES_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Api-Key")


def test_valid_key_in_authorization_header_gets_in(api_client: APIClient) -> None:
    assert api_client.get(BATCHES_URL).status_code == 200


def test_valid_key_in_x_api_key_header_gets_in(api_key: str) -> None:
    assert client_with(HTTP_X_API_KEY=api_key).get(BATCHES_URL).status_code == 200


def test_scheme_name_is_case_insensitive(api_key: str) -> None:
    client = client_with(HTTP_AUTHORIZATION=f"api-key {api_key}")
    assert client.get(BATCHES_URL).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Api-Key {prefix}.wrong-secret",
        "Api-Key 00000000.unknown-prefix",
        "Api-Key no-dot-at-all",
        "Api-Key",
        "Api-Key two parts",
    ],
)
def test_wrong_or_malformed_key_is_401_invalid_api_key(api_key: str, header: str) -> None:
    client = client_with(HTTP_AUTHORIZATION=header.format(prefix=api_key.split(".")[0]))
    response = client.get(BATCHES_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"
    assert "WWW-Authenticate" in response


@pytest.mark.parametrize("scheme", ["", "Bearer ", "Token "])
def test_a_key_without_its_scheme_word_says_how_to_send_it(api_key: str, scheme: str) -> None:
    response = client_with(HTTP_AUTHORIZATION=f"{scheme}{api_key}").get(BATCHES_URL)
    assert (response.status_code, response.json()["code"]) == (401, "invalid_api_key")
    assert "Use 'Authorization: Api-Key <key>'" in response.json()["detail"]


def test_wrong_key_in_x_api_key_header_is_401(api_key: str) -> None:
    response = client_with(HTTP_X_API_KEY=api_key + "x").get(BATCHES_URL)
    assert (response.status_code, response.json()["code"]) == (401, "invalid_api_key")


def test_revoked_key_is_refused(api_key: str, api_client: APIClient) -> None:
    ApiKey.objects.filter(prefix=api_key.split(".")[0]).update(revoked_at=timezone.now())
    response = api_client.get(BATCHES_URL)
    assert (response.status_code, response.json()["code"]) == (401, "invalid_api_key")


def test_first_use_records_last_used_at(api_key: str, api_client: APIClient) -> None:
    api_client.get(BATCHES_URL)
    assert key_row(api_key).last_used_at is not None


def test_last_used_at_is_written_at_most_once_a_minute(api_key: str, api_client: APIClient) -> None:
    recent = timezone.now() - timedelta(seconds=20)
    ApiKey.objects.filter(prefix=key_row(api_key).prefix).update(last_used_at=recent)
    api_client.get(BATCHES_URL)
    assert key_row(api_key).last_used_at == recent


def test_last_used_at_moves_on_after_a_minute(api_key: str, api_client: APIClient) -> None:
    stale = timezone.now() - timedelta(minutes=5)
    ApiKey.objects.filter(prefix=key_row(api_key).prefix).update(last_used_at=stale)
    api_client.get(BATCHES_URL)
    assert key_row(api_key).last_used_at > stale  # type: ignore[operator]


# --- manage.py create_api_key -----------------------------------------------------------------


def create_api_key(*args: str) -> str:
    out = StringIO()
    call_command("create_api_key", *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def test_create_api_key_prints_a_working_key_as_its_last_line(facility: Facility) -> None:
    raw = create_api_key("--name", "scanner", "--facility", facility.slug)
    assert client_with(HTTP_AUTHORIZATION=f"Api-Key {raw}").get(BATCHES_URL).status_code == 200
    assert key_row(raw).key_hash == ApiKey.hash_key(raw) != raw


def test_create_api_key_scopes_the_key_to_the_named_facilities(
    facility: Facility, other_facility: Facility
) -> None:
    raw = create_api_key(
        "--name", "both", "--facility", facility.slug, "--facility", other_facility.slug
    )
    assert set(key_row(raw).facilities.values_list("slug", flat=True)) == {"dc-north", "dc-south"}


@pytest.mark.django_db
def test_create_api_key_refuses_an_unknown_facility() -> None:
    with pytest.raises(CommandError):
        create_api_key("--name", "x", "--facility", "nowhere")
    assert not ApiKey.objects.exists()


@pytest.mark.django_db
def test_create_api_key_can_create_the_facility() -> None:
    raw = create_api_key("--name", "x", "--facility", "new-dc", "--create-facility")
    assert list(key_row(raw).facilities.values_list("slug", flat=True)) == ["new-dc"]
