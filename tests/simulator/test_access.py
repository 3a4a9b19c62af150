"""Keyed access: CoinGecko's /api/v3/onchain base path, the key headers, /api/v3/key, credits."""

from __future__ import annotations

import httpx
import pytest

DEXES = "networks/solana/dexes"
KEY = "CG-test-key"


def test_keyless_simulator_serves_both_base_paths_alike(simulator_factory):
    running = simulator_factory(clock=lambda: 1_757_000_000.0)
    pool = running.world()["pools"]["heaven"][0]["address"]
    for path in (DEXES, f"networks/solana/pools/{pool}", f"networks/solana/pools/{pool}/trades"):
        v2 = httpx.get(f"{running.base_url}/{path}")
        v3 = httpx.get(f"{running.onchain_url}/{path}")
        assert v2.status_code == v3.status_code == 200
        assert v2.json() == v3.json() or "links" in v2.json()
    links = httpx.get(f"{running.onchain_url}/{DEXES}").json()["links"]
    assert links["next"] == f"{running.onchain_url}/{DEXES}?page=2"
    assert httpx.get(f"{running.onchain_url}/networks/solana/nope").status_code == 404
    keyless = httpx.get(f"{running.sim_url}/api/v3/key")
    assert keyless.status_code == 401
    assert keyless.json()["status"]["error_code"] == 10002


@pytest.mark.parametrize(
    ("plan", "header", "param"),
    [
        ("demo", "x-cg-demo-api-key", "x_cg_demo_api_key"),
        ("pro", "x-cg-pro-api-key", "x_cg_pro_api_key"),
    ],
)
def test_a_keyed_simulator_wants_the_plans_key(simulator_factory, plan, header, param):
    running = simulator_factory(api_key=KEY, plan=plan)
    url = f"{running.onchain_url}/{DEXES}"
    missing = httpx.get(url)
    assert missing.status_code == 401
    assert missing.json()["status"]["error_code"] == 10002
    wrong = httpx.get(url, headers={header: "not-the-key"})
    assert wrong.status_code == 401 and wrong.json()["status"]["error_code"] == 10002
    other = "x-cg-pro-api-key" if plan == "demo" else "x-cg-demo-api-key"
    misplaced = httpx.get(url, headers={other: KEY})
    assert misplaced.status_code == 401
    assert misplaced.json()["status"]["error_code"] == {"demo": 10010, "pro": 10011}[plan]
    assert httpx.get(url, headers={header: KEY}).status_code == 200
    assert httpx.get(url, params={param: KEY}).status_code == 200
    assert httpx.get(f"{running.base_url}/{DEXES}").status_code == 401
    assert httpx.get(f"{running.base_url}/{DEXES}", headers={header: KEY}).status_code == 200
    stats = running.stats()
    assert stats["by_status"] == {"401": 4, "200": 3}


def test_key_endpoint_reports_the_plan_and_counts_every_admitted_call(simulator_factory):
    running = simulator_factory(api_key=KEY, plan="pro", rate_per_min=0, monthly_credit=1000)
    headers = {"x-cg-pro-api-key": KEY}
    httpx.get(f"{running.onchain_url}/{DEXES}", headers=headers)
    httpx.get(f"{running.onchain_url}/networks/solana/pools/nope", headers=headers)
    httpx.get(f"{running.onchain_url}/{DEXES}")
    usage = httpx.get(f"{running.sim_url}/api/v3/key", headers=headers)
    assert usage.status_code == 200
    assert usage.json() == {
        "plan": "Analyst",
        "rate_limit_request_per_minute": 500,
        "monthly_call_credit": 1000,
        "current_total_monthly_calls": 3,
        "current_remaining_monthly_calls": 997,
    }
    demo = simulator_factory(api_key=KEY, plan="demo", rate_per_min=None)
    body = httpx.get(f"{demo.sim_url}/api/v3/key", headers={"x-cg-demo-api-key": KEY}).json()
    assert body["plan"] == "Demo" and body["rate_limit_request_per_minute"] == 30
    assert (
        body["monthly_call_credit"] == 10_000 and body["current_remaining_monthly_calls"] == 9_999
    )


def test_a_used_up_monthly_credit_answers_429_until_the_month_turns(simulator_factory):
    # 2025-09-30T23:00:00Z: an hour before October.
    running = simulator_factory(
        api_key=KEY, plan="demo", monthly_credit=2, clock=lambda: 1_759_273_200.0
    )
    headers = {"x-cg-demo-api-key": KEY}
    codes = [
        httpx.get(f"{running.onchain_url}/{DEXES}", headers=headers).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    refused = httpx.get(f"{running.onchain_url}/{DEXES}", headers=headers)
    assert refused.json()["status"]["error_code"] == 429
    running.control("clock", {"advance": 3600})
    assert httpx.get(f"{running.onchain_url}/{DEXES}", headers=headers).status_code == 200
    usage = httpx.get(f"{running.sim_url}/api/v3/key", headers=headers).json()
    assert usage["current_total_monthly_calls"] == 2


def test_a_keyed_rate_limit_counts_per_key_not_per_address(simulator_factory):
    running = simulator_factory(api_key=KEY, plan="demo", rate_per_min=2)
    headers = {"x-cg-demo-api-key": KEY}
    url = f"{running.onchain_url}/{DEXES}"
    first = [
        httpx.get(url, headers={**headers, "X-Forwarded-For": ip})
        for ip in ("1.1.1.1", "2.2.2.2", "3.3.3.3")
    ]
    assert [r.status_code for r in first] == [200, 200, 429]


def test_a_key_in_the_query_string_is_not_logged(simulator_factory, caplog):
    running = simulator_factory(api_key=KEY, plan="pro")
    with caplog.at_level("INFO", logger="simulator"):
        httpx.get(f"{running.onchain_url}/{DEXES}", params={"x_cg_pro_api_key": KEY, "page": 1})
    lines = [r.getMessage() for r in caplog.records if r.name == "simulator"]
    assert any("x_cg_pro_api_key=***&page=1 -> 200" in line for line in lines)
    assert not any(KEY in line for line in lines)
