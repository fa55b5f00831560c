"""The OpenAPI schema and Swagger UI: public, complete enough to integrate from, and served
without any CDN."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from rest_framework.test import APIClient

SCHEMA_URL = "/api/v1/schema/"
DOCS_URL = "/api/v1/docs/"


@pytest.fixture
def schema(db: None) -> dict[str, Any]:
    response = APIClient().get(SCHEMA_URL, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return dict(response.json())


def test_schema_and_docs_need_no_key_and_ignore_a_bad_one(db: None) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key bad.key")
    assert client.get(SCHEMA_URL).status_code == 200
    assert client.get(DOCS_URL).status_code == 200


def test_schema_documents_the_api_key_scheme(schema: dict[str, Any]) -> None:
    scheme = schema["components"]["securitySchemes"]["ApiKeyAuth"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    submit = schema["paths"]["/api/v1/batches/"]["post"]
    assert submit["security"] == [{"ApiKeyAuth": []}]


def test_schema_documents_the_multipart_submission(schema: dict[str, Any]) -> None:
    submit = schema["paths"]["/api/v1/batches/"]["post"]
    ref = submit["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert body["properties"]["images"]["items"]["format"] == "binary"
    assert {"202", "409", "413", "503"} <= set(submit["responses"])
    assert "422" not in submit["responses"]  # a file over a per-file limit fails on its own
    accepted = submit["responses"]["202"]["content"]["application/json"]["schema"]["$ref"]
    answer = schema["components"]["schemas"][accepted.rsplit("/", 1)[-1]]
    assert "refused_files" in answer["properties"]
    assert "no_active_model" in submit["responses"]["409"]["description"]
    assert "Idempotency-Key" in [param["name"] for param in submit["parameters"]]


def test_schema_lists_every_endpoint(schema: dict[str, Any]) -> None:
    batch = "/api/v1/batches/{batch_id}/"
    assert {
        "/api/v1/batches/",
        batch,
        f"{batch}images/",
        f"{batch}results.json",
        f"{batch}results.csv",
    } <= set(schema["paths"])


def test_schema_is_served_as_yaml_by_default(db: None) -> None:
    response = APIClient().get(SCHEMA_URL)
    assert yaml.safe_load(response.content)["info"]["title"] == "Inspection API"


def test_swagger_ui_loads_only_local_assets(db: None) -> None:
    html = APIClient().get(DOCS_URL).content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui-bundle.js" in asset for asset in assets)
    # Vendored files, and Swagger UI's start-up script served by the docs view itself (the
    # split view: no inline script for the Content-Security-Policy to allow).
    assert all(asset.startswith(("/static/", f"{DOCS_URL}?script")) for asset in assets), assets
    assert "cdn" not in html.lower()


def test_the_swagger_start_up_script_is_served(db: None) -> None:
    html = APIClient().get(DOCS_URL).content.decode()
    [script] = re.findall(r'src="(/api/v1/docs/\?script[^"]*)"', html)
    response = APIClient().get(script)
    assert response.status_code == 200
    assert "SwaggerUIBundle" in response.content.decode()


def test_the_swagger_assets_are_served(db: None) -> None:
    html = APIClient().get(DOCS_URL).content.decode()
    bundle = re.search(r'src="(/static/[^"]*swagger-ui-bundle\.js)"', html)
    assert bundle is not None
    response = APIClient().get(bundle.group(1))
    assert response.status_code == 200
