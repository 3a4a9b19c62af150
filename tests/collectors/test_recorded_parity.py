"""The simulator is faithful: the same client, reading the project's fixtures rebuilt from real
recorded API answers and reading the simulator, yields the same records with the same fields
filled in."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from .clients import make_client

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "api"
CBRL_POOL = "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"
CBRL_TOKEN = "5LKHMd2rMSRaG9y4iHwSLRtrJ3dCrJ2CytvBeak8pump"
ROUTES = {
    "/api/v2/networks/solana/dexes": "dexes_solana_page1.json",
    "/api/v2/networks/solana/dexes/pumpswap/pools": "new_pools_solana.json",
    f"/api/v2/networks/solana/pools/{CBRL_POOL}": "pool_single_cbrl.json",
    f"/api/v2/networks/solana/tokens/{CBRL_TOKEN}": "token_cbrl.json",
    f"/api/v2/networks/solana/tokens/{CBRL_TOKEN}/info": "token_info_cbrl.json",
    f"/api/v2/networks/solana/pools/{CBRL_POOL}/ohlcv/minute": "ohlcv_cbrl_15m.json",
    f"/api/v2/networks/solana/pools/{CBRL_POOL}/trades": "trades_cbrl.json",
}


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def recorded_app(environ, start_response):
    name = ROUTES.get(environ["PATH_INFO"])
    body = (FIXTURES / (name or "error_not_found.json")).read_bytes()
    start_response("200 OK" if name else "404 Not Found", [("Content-Type", "application/json")])
    return [body]


@pytest.fixture(scope="module")
def recorded_url():
    server = make_server("127.0.0.1", 0, recorded_app, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v2"
    server.shutdown()


def filled(record) -> set[str]:
    """Names of the fields that carry a value (nested records count by their own presence)."""
    return {f.name for f in dataclasses.fields(record) if getattr(record, f.name) not in (None, "")}


def both(recorded_url, simulator, key_prefix, call):
    recorded = make_client(recorded_url, prefix=f"{key_prefix}:a")
    simulated = make_client(simulator.base_url, prefix=f"{key_prefix}:b")
    try:
        return call(recorded, pool=CBRL_POOL, token=CBRL_TOKEN), call(
            simulated, **_simulated_ids(simulator)
        )
    finally:
        recorded.close()
        simulated.close()


def _simulated_ids(simulator) -> dict:
    pool = simulator.world()["pools"]["pumpswap"][3]
    return {"pool": pool["address"], "token": pool["base_token"]}


@pytest.mark.usefixtures("redis_client")
@pytest.mark.parametrize(
    ("name", "call", "always"),
    [
        ("pool", lambda c, pool, token: c.pool(pool).pools[0], {"market_cap_usd"}),
        ("top pools", lambda c, pool, token: c.top_pools("pumpswap").pools[0], {"market_cap_usd"}),
        ("token", lambda c, pool, token: c.token(token), {"market_cap_usd", "image_url"}),
        ("ohlcv", lambda c, pool, token: c.ohlcv(pool, "15m", limit=10).candles[0], set()),
        ("trade", lambda c, pool, token: c.trades(pool)[0], set()),
        ("dex", lambda c, pool, token: c.dexes()[0], set()),
    ],
)
def test_recorded_and_simulated_answers_give_the_same_records(
    recorded_url, simulator, key_prefix, name, call, always
):
    recorded, simulated = both(recorded_url, simulator, key_prefix, call)

    assert type(recorded) is type(simulated)
    assert filled(recorded) - always <= filled(simulated), f"{name}: simulator leaves fields empty"


@pytest.mark.usefixtures("redis_client")
def test_recorded_trade_volume_keeps_every_decimal(recorded_url, key_prefix):
    client = make_client(recorded_url, prefix=key_prefix)
    raw = json.loads((FIXTURES / "trades_cbrl.json").read_text())["data"][0]["attributes"]
    trade = client.trades(CBRL_POOL)[0]
    assert str(trade.volume_usd) == raw["volume_in_usd"]
