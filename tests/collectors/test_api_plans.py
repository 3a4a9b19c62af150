"""Keyed API plans: the key goes in the plan's header to the plan's base URL only, is never
logged, and a paid plan's own figures from GET /api/v3/key set the planner's budget.

A tiny HTTP server records exactly what was sent (headers included); the simulator, given a
key, checks it as the real API would.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from collectors.gecko.errors import ClientError
from collectors.planner import limits
from collectors.planner.budget import sustained_rate
from tests.collectors.clients import make_client

KEY = "CG-test-key-never-to-be-seen"
FIGURES = {
    "plan": "Analyst",
    "rate_limit_request_per_minute": 500,
    "monthly_call_credit": 500_000,
    "current_total_monthly_calls": 400_000,
    "current_remaining_monthly_calls": 100_000,
}


class Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, dict[str, str]]]

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        body = FIGURES if self.path.endswith("/api/v3/key") else {"data": []}
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def base(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/api/v3/onchain"


@pytest.mark.parametrize(
    ("plan", "header"), [("demo", "x-cg-demo-api-key"), ("pro", "x-cg-pro-api-key")]
)
def test_the_key_travels_in_the_plans_header_to_the_plans_url_only(
    settings, recorder, key_prefix, caplog, plan, header
):
    settings.GECKO_API_PLAN, settings.GECKO_API_KEY = plan, KEY
    settings.GECKO_API_URL = base(recorder)
    other = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    other.seen = []
    threading.Thread(target=other.serve_forever, daemon=True).start()
    caplog.set_level(logging.DEBUG)
    try:
        with make_client(base(recorder), prefix=key_prefix) as keyed:
            keyed.trades("PoolA")
            assert KEY not in repr(keyed)
        with make_client(base(other), prefix=key_prefix) as elsewhere:
            elsewhere.trades("PoolB")
    finally:
        other.shutdown()
        other.server_close()

    [(path, headers)] = recorder.seen
    assert path.startswith("/api/v3/onchain/networks/solana/pools/PoolA/trades")
    assert headers[header] == KEY
    assert not {h for h in headers if h.startswith("x-cg-") and h != header}
    [(_, headers)] = other.seen
    assert not any(h.startswith("x-cg-") for h in headers), "no key to another base URL"
    assert KEY not in caplog.text


def test_the_public_plan_sends_no_key(settings, recorder, key_prefix):
    settings.GECKO_API_PLAN, settings.GECKO_API_KEY = "public", KEY
    settings.GECKO_API_URL = base(recorder)
    with make_client(base(recorder), prefix=key_prefix) as client:
        client.trades("PoolA")
    [(_, headers)] = recorder.seen
    assert not any(h.startswith("x-cg-") for h in headers)


def test_a_paid_plans_own_figures_set_the_budget(settings, recorder, key_prefix, redis_client):
    settings.GECKO_API_PLAN, settings.GECKO_API_KEY = "pro", KEY
    settings.GECKO_API_URL = base(recorder)
    settings.GECKO_RATE_LIMIT_PER_MIN = 1000
    settings.GECKO_MONTHLY_CREDIT = 100_000  # the pro default: the smallest paid plan
    assert limits.current().monthly_credit == 100_000, "before /key: the settings' figure"

    with make_client(base(recorder), prefix=key_prefix) as client:
        limits.store_key_figures(client.key_figures())

    [(path, headers)] = recorder.seen
    assert path == "/api/v3/key" and headers["x-cg-pro-api-key"] == KEY
    plan = limits.current()
    assert plan.rate_per_min == 450, "the plan's 500/min less the 10% margin"
    assert plan.monthly_credit == 500_000 and plan.remaining_this_month == 100_000
    mid_month = datetime.fromisoformat("2026-11-16T00:00:00+00:00")
    rate, monthly_bound = sustained_rate(plan, mid_month)
    assert monthly_bound and rate == pytest.approx(100_000 / (15 * 1440))


@pytest.mark.parametrize("plan", ["demo", "pro"])
def test_the_simulator_accepts_our_key_and_refuses_a_keyless_call(
    settings, simulator_factory, key_prefix, plan
):
    running = simulator_factory(api_key=KEY, plan=plan)
    onchain = f"{running.sim_url}/api/v3/onchain"
    settings.GECKO_API_PLAN, settings.GECKO_API_KEY, settings.GECKO_API_URL = plan, KEY, onchain
    address = running.world()["pools"]["pumpswap"][0]["address"]

    with make_client(onchain, prefix=key_prefix) as keyed:
        assert keyed.trades(address) is not None
    settings.GECKO_API_KEY = ""
    with make_client(onchain, prefix=key_prefix) as keyless, pytest.raises(ClientError) as caught:
        keyless.trades(address)
    assert caught.value.status == 401


def test_a_pro_key_reads_the_simulated_plans_figures(settings, simulator_factory, key_prefix):
    running = simulator_factory(api_key=KEY, plan="pro")
    onchain = f"{running.sim_url}/api/v3/onchain"
    settings.GECKO_API_PLAN, settings.GECKO_API_KEY, settings.GECKO_API_URL = "pro", KEY, onchain
    with make_client(onchain, prefix=key_prefix) as client:
        client.trades(running.world()["pools"]["pumpswap"][0]["address"])
        figures = client.key_figures()
    assert figures["rate_limit_request_per_minute"] == 500
    assert figures["monthly_call_credit"] == 500_000
    assert figures["current_remaining_monthly_calls"] < 500_000, "our calls were counted"
