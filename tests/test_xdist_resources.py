"""Each pytest-xdist worker's Redis database (tests/xdist_resources.py)."""

from __future__ import annotations

from tests.xdist_resources import worker_redis_url


def test_each_worker_gets_a_database_of_its_own() -> None:
    url = "redis://127.0.0.1:6379/15"
    urls = [worker_redis_url(url, f"gw{index}") for index in range(4)]
    assert urls == [f"redis://127.0.0.1:6379/{db}" for db in (15, 14, 13, 12)]


def test_the_database_wraps_and_the_rest_of_the_url_is_kept() -> None:
    assert worker_redis_url("redis://:pw@redis:6380/1", "gw2") == "redis://:pw@redis:6380/15"
    assert worker_redis_url("redis://redis:6379", "gw1") == "redis://redis:6379/15"
