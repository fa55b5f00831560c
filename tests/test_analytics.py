"""The analytics page: login, scoping to the user's facilities (the filters offer only theirs, a
foreign one is not found), a card per chart whose numbers and CSV come from its API endpoint
with the chosen facility, camera and period, custom dates, and the empty page of a user without
facilities."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client

from inspection.analytics.charts import CHARTS
from inspection.models import Batch, Facility, FacilityMembership

URL = "/analytics/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def member(facility: Facility, other_facility: Facility) -> Client:
    user = User.objects.create_user("manager", password="pw")
    FacilityMembership.objects.create(user=user, facility=facility, role="viewer")
    Batch.objects.create(facility=facility, camera="dock-1")
    Batch.objects.create(facility=other_facility, camera="south-gate")
    client = Client()
    client.force_login(user)
    return client


def chart_urls(page: str) -> dict[str, str]:
    """data-chart -> data-url of every chart card on the page."""
    cards = re.findall(r'data-chart="([a-z_]+)" data-url="([^"]+)"', page)
    return {name: url.replace("&amp;", "&") for name, url in cards}


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_login_is_required(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert "next=/analytics/" in response["Location"]


def test_a_card_per_chart_reading_its_endpoint(member: Client) -> None:
    response = member.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    urls = chart_urls(page)
    assert list(urls) == [chart.name for chart in CHARTS]
    for chart in CHARTS:
        assert urlsplit(urls[chart.name]).path == f"/api/v1/analytics/{chart.path}/"
        assert query_of(urls[chart.name]) == {"period": ["7d"]}
        assert f'href="{urls[chart.name].replace("&", "&amp;")}&amp;format=csv"' in page
    assert "vendor/echarts-6.1.0/echarts.common.min.js" in page
    assert "analytics/analytics.js" in page and "analytics/analytics.css" in page


def test_the_filters_offer_only_the_user_s_facilities_and_cameras(member: Client) -> None:
    page = member.get(URL).content.decode()
    assert 'value="dc-north"' in page
    assert "dc-south" not in page and "south-gate" not in page
    assert 'value="dock-1"' in page


def test_the_chosen_facility_camera_and_period_go_to_every_endpoint(member: Client) -> None:
    page = member.get(URL, {"facility": "dc-north", "camera": "dock-1", "period": "24h"})
    for url in chart_urls(page.content.decode()).values():
        assert query_of(url) == {"facility": ["dc-north"], "camera": ["dock-1"], "period": ["24h"]}


def test_custom_dates_are_whole_utc_days(member: Client) -> None:
    page = member.get(URL, {"period": "custom", "date_from": "2026-03-01", "date_to": "2026-03-10"})
    url = chart_urls(page.content.decode())["throughput"]
    assert query_of(url) == {"period": ["10d"], "until": ["2026-03-11T00:00:00+00:00"]}


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        ({"date_from": "2026-03-10", "date_to": "2026-03-01"}, "To must not be before From."),
        ({"date_from": "2026-03-10"}, "Custom dates need both From and To."),
        ({"date_from": "2020-01-01", "date_to": "2026-03-01"}, "span at most 999 days"),
    ],
)
def test_wrong_custom_dates_say_why_and_show_the_default(
    member: Client, dates: dict[str, str], message: str
) -> None:
    text = member.get(URL, {"period": "custom", **dates}).content.decode()
    assert message in text and "Showing the last 7 days." in text
    assert query_of(chart_urls(text)["latency"]) == {"period": ["7d"]}


def test_a_foreign_facility_is_not_found(member: Client) -> None:
    assert member.get(URL, {"facility": "dc-south"}).status_code == 404


def test_a_superuser_sees_every_facility(admin_client: Client, member: Client) -> None:
    page = admin_client.get(URL).content.decode()
    assert 'value="dc-north"' in page and 'value="dc-south"' in page


def test_a_user_without_facilities_sees_an_empty_page(client: Client) -> None:
    client.force_login(User.objects.create_user("nobody", password="pw"))
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "not a member of any facility" in page
    assert chart_urls(page) == {} and "echarts" not in page
