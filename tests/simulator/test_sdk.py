"""geckoterminal-py 0.3.1 parses every simulator payload it wraps (base_url set per instance)."""

from __future__ import annotations

import asyncio

import pytest
from geckoterminal_py import GeckoTerminalAsyncClient, GeckoTerminalSyncClient

POOL_COLUMNS = [
    "id",
    "type",
    "name",
    "base_token_price_usd",
    "base_token_price_native_currency",
    "quote_token_price_usd",
    "quote_token_price_native_currency",
    "address",
    "reserve_in_usd",
    "pool_created_at",
    "fdv_usd",
    "market_cap_usd",
    "price_change_percentage_h1",
    "price_change_percentage_h24",
    "transactions_h1_buys",
    "transactions_h1_sells",
    "transactions_h24_buys",
    "transactions_h24_sells",
    "volume_usd_h24",
    "dex_id",
    "base_token_id",
    "quote_token_id",
]


@pytest.fixture(scope="module")
def heaven(simulator_frozen) -> list[str]:
    return [p["address"] for p in simulator_frozen.world()["pools"]["heaven"]]


def test_async_client_parses_pools_ohlcv_trades_and_tokens(simulator_frozen, heaven):
    async def run() -> dict:
        client = GeckoTerminalAsyncClient()
        client.base_url = simulator_frozen.base_url
        try:
            return {
                "top": await client.get_top_pools_by_network_dex("solana", "heaven"),
                "multi": await client.get_multiple_pools_by_network(
                    "solana", [*heaven[:3], "Unknown1111111111111111111111111111111111111"]
                ),
                "one": await client.get_pool_by_network_address("solana", heaven[0]),
                "ohlcv": await client.get_ohlcv("solana", heaven[0], "1h"),
                "daily": await client.get_ohlcv("solana", heaven[0], "1d"),
                "trades": await client.get_trades("solana", heaven[0], 100),
                "dexes": await client.get_dexes_by_network("solana"),
            }
        finally:
            await client.close()

    out = asyncio.run(run())
    assert list(out["top"].columns) == [*POOL_COLUMNS, "network_id"]
    assert len(out["top"]) == 20 and set(out["top"]["dex_id"]) == {"heaven"}
    assert out["top"]["transactions_h24_buys"].dtype.kind == "i"
    assert list(out["multi"].columns) == POOL_COLUMNS and len(out["multi"]) == 3
    assert out["multi"]["base_token_id"].str.startswith("solana_").all()
    assert out["one"]["address"].tolist() == [heaven[0]]
    ohlcv = out["ohlcv"]
    assert len(ohlcv) > 10 and ohlcv["timestamp"].is_monotonic_increasing
    assert list(ohlcv.columns) == [
        "timestamp",
        "open",
        "high",
        "low",
        "close",
        "volume_usd",
        "datetime",
    ]
    assert len(out["daily"]) >= 1
    trades = out["trades"]
    assert 0 < len(trades) <= 300 and set(trades["side"]) <= {"buy", "sell"}
    assert trades["volume_usd"].map(float).min() > 100
    assert "heaven" in set(out["dexes"]["id"])


def test_async_token_and_sync_client(simulator_frozen, heaven):
    mint = simulator_frozen.world()["pools"]["heaven"][0]["base_token"]

    async def token() -> dict:
        client = GeckoTerminalAsyncClient()
        client.base_url = simulator_frozen.base_url
        try:
            return await client.get_specific_token_on_network("solana", mint)
        finally:
            await client.close()

    assert asyncio.run(token())["attributes"]["address"] == mint
    client = GeckoTerminalSyncClient()
    client.base_url = simulator_frozen.base_url
    try:
        assert len(client.get_dexes_by_network("solana")) == 20
        top = client.get_top_pools_by_network_dex("solana", "pumpswap")
        assert len(top) == 20 and top["network_id"].eq("solana").all()
        candles = client.get_ohlcv("solana", heaven[1], "15m")
        assert len(candles) > 0 and candles["timestamp"].is_monotonic_increasing
        page2 = client.api_request(
            "GET",
            "networks/solana/dexes/heaven/pools",
            params={"page": 2, "include": "base_token,quote_token,dex"},
        )
        assert len(page2["data"]) == 20 and page2["included"]
    finally:
        client.close()
