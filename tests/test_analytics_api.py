"""The analytics endpoints (/api/v1/analytics/<chart>/): scoped to the key's facilities or, for
the page, to the signed-in user's (a foreign facility is a 404 like a missing one), strict about
their parameters (a malformed one is a 400 naming it), JSON or CSV with the same numbers, and
every one of them in the schema with its parameters and answers."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from inspection.analytics.charts import CHARTS
from inspection.models import Facility, FacilityMembership
from tests.analytics_support import Site, hours_ago
from tests.conftest import make_api_key

pytestmark = pytest.mark.django_db
API = "/api/v1/analytics"
PATHS = [chart.path for chart in CHARTS]


@pytest.fixture
def two_sites(facility: Facility, other_facility: Facility) -> tuple[Site, Site]:
    """Images in both facilities over the last hours: 3 in dc-north, 5 in dc-south."""
    long_ago = timezone.now() - timedelta(days=60)
    Facility.objects.filter(pk__in=[facility.pk, other_facility.pk]).update(created_at=long_ago)
    north, south = Site.of(facility), Site.of(other_facility)
    for i in range(3):
        north.image(hours_ago(2 + i), camera="dock-1", boxes=(("parcel", 0.9),))
    for i in range(5):
        south.image(hours_ago(2 + i), camera="gate", boxes=(("label", 0.4),))
    return north, south


def images_counted(body: dict[str, Any]) -> int:
    return sum(sum(series["values"]) for series in body["series"])


@pytest.mark.parametrize("path", PATHS)
def test_every_chart_answers_the_key_s_facilities_only(
    api_client: APIClient, two_sites: tuple[Site, Site], path: str
) -> None:
    response = api_client.get(f"{API}/{path}/", {"period": "24h"})
    assert response.status_code == 200
    body = response.json()
    assert body["scope"]["facilities"] == ["dc-north"]
    assert (body["scope"]["bucket"], body["scope"]["period"]) == ("hour", "24h")


def test_numbers_of_another_facility_are_not_counted(
    api_client: APIClient, two_sites: tuple[Site, Site]
) -> None:
    body = api_client.get(f"{API}/throughput/", {"period": "24h"}).json()
    assert images_counted(body) == 3
    classes = api_client.get(f"{API}/confidence/").json()["classes"]
    assert {c["class_name"]: sum(c["current"]) for c in classes} == {"parcel": 3}


@pytest.mark.parametrize("path", PATHS)
def test_a_foreign_facility_is_a_404_like_a_missing_one(
    api_client: APIClient, two_sites: tuple[Site, Site], path: str
) -> None:
    foreign = api_client.get(f"{API}/{path}/", {"facility": "dc-south"})
    missing = api_client.get(f"{API}/{path}/", {"facility": "dc-nowhere"})
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json() == {"code": "not_found", "detail": "Not found."}


def test_a_key_for_both_facilities_counts_both_or_the_one_chosen(
    facility: Facility, other_facility: Facility, two_sites: tuple[Site, Site]
) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_api_key(facility, other_facility)}")
    both = client.get(f"{API}/throughput/", {"period": "24h"}).json()
    assert both["scope"]["facilities"] == ["dc-north", "dc-south"] and images_counted(both) == 8
    south = client.get(f"{API}/throughput/", {"period": "24h", "facility": "dc-south"}).json()
    assert images_counted(south) == 5
    gate = client.get(f"{API}/throughput/", {"period": "24h", "camera": "gate"}).json()
    assert (gate["scope"]["camera"], images_counted(gate)) == ("gate", 5)


def test_the_page_s_session_sees_the_user_s_facilities(
    client: Client, facility: Facility, two_sites: tuple[Site, Site]
) -> None:
    user = User.objects.create_user("manager", password="pw")
    FacilityMembership.objects.create(user=user, facility=facility, role="viewer")
    client.force_login(user)
    body = client.get(f"{API}/throughput/", {"period": "24h"}).json()
    assert (body["scope"]["facilities"], images_counted(body)) == (["dc-north"], 3)
    assert client.get(f"{API}/throughput/", {"facility": "dc-south"}).status_code == 404


def test_a_superuser_session_sees_every_facility(
    admin_client: Client, two_sites: tuple[Site, Site]
) -> None:
    body = admin_client.get(f"{API}/throughput/", {"period": "24h"}).json()
    assert images_counted(body) == 8


@pytest.mark.parametrize("path", PATHS)
def test_without_a_key_or_a_session_it_is_401(path: str, db: None) -> None:
    response = APIClient().get(f"{API}/{path}/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Api-Key")


@pytest.mark.parametrize(
    "query",
    ["period=0d", "period=7w", "period=1000d", "period=", "camera=", "until=yesterday",
     "until=", "format=xml", "format=", "facility=", "facility=no slug"],
)  # fmt: skip
def test_malformed_parameters_are_400_naming_them(api_client: APIClient, query: str) -> None:
    response = api_client.get(f"{API}/latency/?{query}")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert query.split("=")[0] in response.json()["errors"]


def test_a_window_ending_in_the_past_in_daily_buckets(
    api_client: APIClient, two_sites: tuple[Site, Site]
) -> None:
    body = api_client.get(
        f"{API}/throughput/", {"period": "10d", "until": "2026-03-11T00:00:00Z"}
    ).json()
    assert body["scope"] | {"facilities": None} == {
        "facilities": None, "camera": None, "period": "10d", "bucket": "day",
        "since": "2026-03-01T00:00:00Z", "until": "2026-03-11T00:00:00Z",
    }  # fmt: skip
    assert body["buckets"][0] == "2026-03-01T00:00:00Z" and len(body["buckets"]) == 10
    assert body["empty"] == (
        "No images were submitted for dc-north, in the 10 days to 2026-03-11 00:00 UTC."
    )


def csv_rows(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_csv_has_the_json_s_numbers(api_client: APIClient, two_sites: tuple[Site, Site]) -> None:
    query = {"period": "24h"}
    body = api_client.get(f"{API}/throughput/", query).json()
    response = api_client.get(f"{API}/throughput/", {**query, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="throughput-dc-north-')
    head, *rows = csv_rows(response)
    assert head == ["bucket_start"] + [f"{s['key']} ({s['unit']})" for s in body["series"]]
    assert len(rows) == len(body["buckets"])
    accepted = [int(row[1]) for row in rows]
    assert accepted == body["series"][0]["values"] and sum(accepted) == 3


def test_confidence_csv_is_a_row_per_class_and_bin_with_the_thresholds(
    api_client: APIClient, two_sites: tuple[Site, Site]
) -> None:
    response = api_client.get(f"{API}/confidence/", {"format": "csv"})
    head, *rows = csv_rows(response)
    assert head == ["class", "bin_low", "bin_high", "current", "reference", "threshold dc-north"]
    parcel = [row for row in rows if row[0] == "parcel"]
    assert len(parcel) == 20 and parcel[18][:4] == ["parcel", "0.9", "0.95", "3"]


def schema_operations(client: APIClient) -> dict[str, Any]:
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    return {path: item["get"] for path, item in schema["paths"].items() if "/analytics/" in path}


def test_every_chart_is_in_the_schema_with_its_parameters_and_answers(db: None) -> None:
    operations = schema_operations(APIClient())
    assert sorted(operations) == sorted(f"{API}/{path}/" for path in PATHS)
    for path, operation in operations.items():
        names = {parameter["name"] for parameter in operation["parameters"]}
        assert names == {"facility", "camera", "period", "until", "format"}, path
        assert {"200", "400", "401", "404"} <= set(operation["responses"]), path
        assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    period = next(p for p in operations[f"{API}/latency/"]["parameters"] if p["name"] == "period")
    assert period["schema"]["pattern"] == "^[1-9][0-9]{0,2}[hd]$"


def test_csv_text_a_spreadsheet_would_run_is_neutralized(
    api_client: APIClient, two_sites: tuple[Site, Site]
) -> None:
    north, _ = two_sites
    north.image(hours_ago(1), boxes=(("=HYPERLINK(1)", 0.5),))
    rows = csv_rows(api_client.get(f"{API}/confidence/", {"format": "csv"}))
    names = {row[0] for row in rows[1:]}
    assert "'=HYPERLINK(1)" in names and "=HYPERLINK(1)" not in names
