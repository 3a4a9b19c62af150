"""Answers up to 60 s stale, per URL, like the API's CDN (``s-maxage=60``): a URL asked again
within a minute gets its first answer back, while a URL not asked yet is fresh."""

from __future__ import annotations

import httpx
import pytest

from tests.simulator_fixture import SIMULATOR_NOW

NOW = int(SIMULATOR_NOW)


@pytest.fixture
def running(simulator_factory):
    return simulator_factory(clock=lambda: SIMULATOR_NOW)


def busiest(running) -> str:
    return max(running.simulator.world.pools, key=lambda p: p.activity).address


def newest_trade(resp: httpx.Response) -> str:
    return resp.json()["data"][0]["attributes"]["block_timestamp"]


def test_one_url_is_served_stale_while_another_is_fresh(running):
    pool = busiest(running)
    url = f"{running.base_url}/networks/solana/pools/{pool}/trades"
    first = httpx.get(url)
    assert first.headers["cf-cache-status"] == "MISS"

    running.control("clock", {"advance": 45})
    again = httpx.get(url)
    other = httpx.get(url, params={"trade_volume_in_usd_greater_than": "0"})

    assert again.content == first.content, "the same URL within a minute: the first answer"
    assert again.headers["cf-cache-status"] == "HIT" and again.headers["age"] == "45"
    assert again.headers["x-request-id"] == first.headers["x-request-id"]
    assert other.headers["cf-cache-status"] == "MISS"
    assert newest_trade(other) > newest_trade(again), "another URL sees the last 45 s"

    running.control("clock", {"advance": 15})
    expired = httpx.get(url)
    assert expired.headers["cf-cache-status"] == "MISS", "60 s old is too old"
    assert newest_trade(expired) == newest_trade(httpx.get(url, params={"x": "1"}))


def test_an_open_candle_is_served_as_it_was_when_cached(running):
    pool = busiest(running)
    url = f"{running.base_url}/networks/solana/pools/{pool}/ohlcv/minute"
    running.control("clock", {"now": NOW // 60 * 60 + 5})
    first = httpx.get(url, params={"limit": 1}).json()["data"]["attributes"]["ohlcv_list"]
    running.control("clock", {"advance": 40})
    stale = httpx.get(url, params={"limit": 1}).json()["data"]["attributes"]["ohlcv_list"]
    fresh = httpx.get(url, params={"limit": 1, "currency": "usd"}).json()
    fresh = fresh["data"]["attributes"]["ohlcv_list"]
    assert stale == first
    assert fresh[0][0] == first[0][0] and fresh[0][5] > first[0][5], "the minute went on"


def test_errors_and_refusals_are_not_cached(simulator_factory):
    running = simulator_factory(clock=lambda: SIMULATOR_NOW, rate_per_min=1)
    url = f"{running.base_url}/networks/solana/dexes"
    assert httpx.get(url).status_code == 200
    refused = httpx.get(url)
    assert refused.status_code == 429 and "cf-cache-status" not in refused.headers
    running.control("config", {"rate_per_min": 0})
    assert httpx.get(url).headers["cf-cache-status"] == "HIT"
    running.add_fault("500", count=1, path_contains="/dexes")
    assert httpx.get(url).status_code == 500
    assert httpx.get(url).headers["cf-cache-status"] == "HIT"


def test_caching_can_be_turned_off(simulator_factory):
    running = simulator_factory(clock=lambda: SIMULATOR_NOW, cache_seconds=0)
    url = f"{running.base_url}/networks/solana/dexes"
    httpx.get(url)
    assert httpx.get(url).headers["cf-cache-status"] == "MISS"
    assert running.control("config", {"cache_seconds": 60})["cache_seconds"] == 60
    httpx.get(url)
    assert httpx.get(url).headers["cf-cache-status"] == "HIT"
