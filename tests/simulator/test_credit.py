"""Every keyed request spends the month's credit, a refused (429) one included, as the API's
plans say: a client that keeps hammering a rate limit burns its month."""

from __future__ import annotations

import httpx

DEXES = "networks/solana/dexes"
KEY = "CG-test-key"
HEADERS = {"x-cg-demo-api-key": KEY}


def usage(running) -> dict:
    return httpx.get(f"{running.sim_url}/api/v3/key", headers=HEADERS).json()


def test_a_request_refused_by_the_rate_limit_still_spends_credit(simulator_factory):
    running = simulator_factory(
        api_key=KEY, plan="demo", rate_per_min=2, monthly_credit=100, clock=lambda: 1_757_000_000.0
    )
    codes = [
        httpx.get(f"{running.onchain_url}/{DEXES}", headers=HEADERS).status_code for _ in range(5)
    ]
    assert codes == [200, 200, 429, 429, 429]
    running.control("config", {"rate_per_min": 0})
    body = usage(running)
    assert body["current_total_monthly_calls"] == 6, "5 calls, 3 refused, and this one"
    assert body["current_remaining_monthly_calls"] == 94


def test_refusals_can_use_up_the_month(simulator_factory):
    running = simulator_factory(
        api_key=KEY, plan="demo", rate_per_min=1, monthly_credit=4, clock=lambda: 1_757_000_000.0
    )
    url = f"{running.onchain_url}/{DEXES}"
    answers = [httpx.get(url, headers=HEADERS) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 429, 429, 429]
    assert all("Retry-After" in a.headers for a in answers[1:]), "refused by the minute's limit"
    running.control("config", {"rate_per_min": 0})
    spent = httpx.get(url, headers=HEADERS)
    assert spent.status_code == 429
    assert spent.json()["status"]["error_code"] == 429, "the month's credit, not the minute's"
    assert "credit" in spent.json()["status"]["error_message"]


def test_a_missing_key_is_not_charged_to_the_key(simulator_factory):
    running = simulator_factory(api_key=KEY, plan="demo", monthly_credit=100)
    assert httpx.get(f"{running.onchain_url}/{DEXES}").status_code == 401
    assert usage(running)["current_total_monthly_calls"] == 1, "only the usage call itself"
