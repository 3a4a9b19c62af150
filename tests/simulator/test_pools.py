"""Shapes of the simulator's dex, pool and token endpoints (compared with API.md §2)."""

from __future__ import annotations

import re
from decimal import Decimal

import httpx
import pytest

from simulator import WSOL
from simulator.hashing import B58_ALPHABET
from tests.simulator_fixture import SIMULATOR_NOW

# A token's attributes as every endpoint gives them, first and in this order.
TOKEN_ATTRIBUTES = ["address", "name", "symbol", "decimals", "image_url", "coingecko_coin_id"]
RECORDED_DEXES = [
    "raydium",
    "orca",
    "raydium-clmm",
    "fluxbeam",
    "meteora",
    "dexlab",
    "daos-fun",
    "pumpswap",
    "virtuals-solana",
    "boop-fun",
    "saros-amm",
    "meteora-dbc",
    "byreal",
    "pancakeswap-v3-solana",
    "meteora-damm-v2",
    "raydium-launchlab",
    "pump-fun",
    "saros-dlmm",
    "wavebreak",
    "heaven",
]
POOL_KEYS = [
    "base_token_price_usd",
    "base_token_price_native_currency",
    "quote_token_price_usd",
    "quote_token_price_native_currency",
    "base_token_price_quote_token",
    "quote_token_price_base_token",
    "address",
    "name",
    "pool_created_at",
    "fdv_usd",
    "market_cap_usd",
    "price_change_percentage",
    "transactions",
    "volume_usd",
    "reserve_in_usd",
]
WINDOWS = ["m5", "m15", "m30", "h1", "h6", "h24"]
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
INCLUDE = {"include": "base_token,quote_token,dex"}


def get(running, path: str, **params) -> httpx.Response:
    return httpx.get(f"{running.base_url}/{path}", params=params, timeout=10)


def decimal_or_none(value, nan_ok: bool = False) -> None:
    if value is None or (nan_ok and value == "NaN"):
        return
    assert isinstance(value, str)
    assert "e" not in value.lower()
    Decimal(value)


def check_pool(obj: dict) -> None:
    assert obj["type"] == "pool"
    attrs = obj["attributes"]
    assert list(attrs) == POOL_KEYS
    assert obj["id"] == f"solana_{attrs['address']}"
    for key in ("base_token_price_usd", "quote_token_price_usd", "reserve_in_usd"):
        assert isinstance(attrs[key], str)
        decimal_or_none(attrs[key])
    for key in ("base_token_price_native_currency", "quote_token_price_native_currency"):
        decimal_or_none(attrs[key], nan_ok=True)
    for key in (
        "base_token_price_quote_token",
        "quote_token_price_base_token",
        "fdv_usd",
        "market_cap_usd",
    ):
        decimal_or_none(attrs[key])
    assert ISO_Z.match(attrs["pool_created_at"])
    assert list(attrs["price_change_percentage"]) == WINDOWS
    assert list(attrs["volume_usd"]) == WINDOWS
    assert list(attrs["transactions"]) == WINDOWS
    for window in WINDOWS:
        decimal_or_none(attrs["price_change_percentage"][window])
        decimal_or_none(attrs["volume_usd"][window])
        tx = attrs["transactions"][window]
        assert list(tx) == ["buys", "sells", "buyers", "sellers"]
        assert all(isinstance(v, int) and v >= 0 for v in tx.values())
        assert tx["buyers"] <= tx["buys"] and tx["sellers"] <= tx["sells"]
    rel = obj["relationships"]
    assert rel["base_token"]["data"]["type"] == "token"
    assert rel["quote_token"]["data"] == {"id": f"solana_{WSOL}", "type": "token"}
    assert rel["dex"]["data"]["type"] == "dex"
    assert not rel["dex"]["data"]["id"].startswith("solana_")


def h24_tx(obj: dict) -> int:
    tx = obj["attributes"]["transactions"]["h24"]
    return tx["buys"] + tx["sells"]


def test_dexes_are_paged_with_links_and_recorded_order(simulator_frozen):
    first = get(simulator_frozen, "networks/solana/dexes").json()
    assert [d["id"] for d in first["data"]] == RECORDED_DEXES
    names = {d["id"]: d["attributes"]["name"] for d in first["data"]}
    assert names["heaven"] == "Heaven" and names["pump-fun"] == "Pump.fun"
    assert names["raydium-clmm"] == "Raydium (CLMM)"
    links = first["links"]
    assert links["first"].endswith("/api/v2/networks/solana/dexes?page=1")
    assert links["prev"] is None and links["next"].endswith("?page=2")
    second = httpx.get(links["next"]).json()
    assert second["data"] and second["links"]["next"] is None
    assert second["links"]["prev"].endswith("?page=1") and second["links"]["last"].endswith("=2")
    assert get(simulator_frozen, "networks/solana/dexes", page=3).json()["data"] == []


@pytest.mark.parametrize("dex", ["heaven", "pumpswap"])
def test_dex_pools_pages_hold_20_sorted_by_h24_transactions(simulator_frozen, dex):
    pages = [
        get(simulator_frozen, f"networks/solana/dexes/{dex}/pools", page=n).json()["data"]
        for n in (1, 2, 3, 4)
    ]
    assert [len(p) for p in pages[:2]] == [20, 20]
    assert 0 < len(pages[2]) <= 20
    assert pages[3] == []
    pools = [p for page in pages for p in page]
    for pool in pools:
        check_pool(pool)
        assert pool["relationships"]["dex"]["data"]["id"] == dex
    counts = [h24_tx(p) for p in pools]
    assert counts == sorted(counts, reverse=True)
    assert len({p["id"] for p in pools}) == len(pools)


def test_dex_pools_page_over_10_and_unknown_dex_are_errors(simulator_frozen):
    over = get(simulator_frozen, "networks/solana/dexes/heaven/pools", page=11)
    assert over.status_code == 400 and over.json()["errors"][0]["status"] == "400"
    unknown = get(simulator_frozen, "networks/solana/dexes/nope/pools")
    assert unknown.status_code == 404
    assert unknown.json() == {"errors": [{"status": "404", "title": "Not Found"}]}
    assert get(simulator_frozen, "networks/ethx/dexes").status_code == 404
    empty = get(simulator_frozen, "networks/solana/dexes/phoenix/pools").json()
    assert empty == {"data": []}


def test_include_is_deduplicated_and_covers_relationships(simulator_frozen):
    body = get(simulator_frozen, "networks/solana/dexes/pumpswap/pools", **INCLUDE).json()
    included = body["included"]
    keys = [(o["type"], o["id"]) for o in included]
    assert len(keys) == len(set(keys))
    assert keys.count(("token", f"solana_{WSOL}")) == 1
    assert keys.count(("dex", "pumpswap")) == 1
    wanted = {
        (r["data"]["type"], r["data"]["id"])
        for p in body["data"]
        for r in p["relationships"].values()
    }
    assert wanted == set(keys)
    sol = next(o for o in included if o["id"] == f"solana_{WSOL}")
    assert sol["attributes"] == {
        "address": WSOL,
        "name": "Wrapped SOL",
        "symbol": "SOL",
        "decimals": 9,
        "image_url": sol["attributes"]["image_url"],
        "coingecko_coin_id": "wrapped-solana",
    }
    token = next(o for o in included if o["type"] == "token" and o["id"] != f"solana_{WSOL}")
    assert list(token["attributes"]) == TOKEN_ATTRIBUTES
    assert isinstance(token["attributes"]["decimals"], int)
    plain = get(simulator_frozen, "networks/solana/dexes/pumpswap/pools").json()
    assert "included" not in plain and "links" not in plain


def test_multi_drops_unknown_keeps_order_and_limits_to_30(simulator_frozen):
    pools = [p["address"] for p in simulator_frozen.world()["pools"]["pumpswap"]]
    wanted = [pools[5], "UnknownPoo1Address1111111111111111111111111", pools[2], pools[9]]
    body = get(simulator_frozen, f"networks/solana/pools/multi/{','.join(wanted)}", **INCLUDE)
    data = body.json()["data"]
    assert [p["attributes"]["address"] for p in data] == [pools[5], pools[2], pools[9]]
    for pool in data:
        check_pool(pool)
    assert len(body.json()["included"]) == 3 + 1 + 1
    ok = get(simulator_frozen, f"networks/solana/pools/multi/{','.join(pools[:30])}")
    assert ok.status_code == 200 and len(ok.json()["data"]) == 30
    too_many = get(simulator_frozen, f"networks/solana/pools/multi/{','.join(pools[:31])}")
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["status"] == "400"


def test_single_pool_is_an_object_and_unknown_is_404(simulator_frozen):
    address = simulator_frozen.world()["pools"]["heaven"][0]["address"]
    body = get(simulator_frozen, f"networks/solana/pools/{address}", **INCLUDE).json()
    assert isinstance(body["data"], dict)
    check_pool(body["data"])
    assert {o["type"] for o in body["included"]} == {"token", "dex"}
    missing = get(
        simulator_frozen, "networks/solana/pools/NoSuchPoo1111111111111111111111111111111"
    )
    assert missing.status_code == 404
    assert missing.json() == {"errors": [{"status": "404", "title": "Not Found"}]}
    assert missing.headers["content-type"] == "application/json; charset=utf-8"


def test_headers_mimic_the_real_api(simulator_frozen):
    resp = get(simulator_frozen, "networks/solana/dexes")
    assert resp.headers["content-type"] == "application/json; charset=utf-8"
    assert resp.headers["cache-control"] == "max-age=30,public,must-revalidate,s-maxage=60"
    assert re.match(r'^W/"[0-9a-f]{32}"$', resp.headers["etag"])
    assert re.match(r"^[0-9a-f-]{36}$", resp.headers["x-request-id"])


def test_world_mints_look_like_solana_launchpads(simulator_frozen):
    world = simulator_frozen.world()
    every = [p for pools in world["pools"].values() for p in pools]
    assert len(every) >= 250
    for p in every:
        for addr in (p["address"], p["base_token"]):
            assert 32 <= len(addr) <= 44 and set(addr) <= set(B58_ALPHABET)
        assert p["quote_token"] == WSOL
    assert all(p["base_token"].endswith("pump") for p in world["pools"]["pump-fun"])
    heaven = world["pools"]["heaven"]
    assert len(heaven) >= 40 and sum(p["base_token"].endswith("777") for p in heaven) > 20


def test_fresh_pool_has_nan_native_prices_and_realistic_nulls(simulator_frozen):
    sim = simulator_frozen.simulator
    fresh = next(p for p in sim.world.pools if p.fresh)
    attrs = get(simulator_frozen, f"networks/solana/pools/{fresh.address}").json()["data"][
        "attributes"
    ]
    assert attrs["base_token_price_native_currency"] == "NaN"
    assert attrs["fdv_usd"] is None and attrs["reserve_in_usd"] == "0.0"
    page = get(simulator_frozen, "networks/solana/dexes/pumpswap/pools").json()["data"]
    assert sum(p["attributes"]["market_cap_usd"] is None for p in page) >= 14


def test_magnitudes_are_realistic(simulator_frozen):
    page = get(simulator_frozen, "networks/solana/dexes/pumpswap/pools").json()["data"]
    assert h24_tx(page[0]) > 1000
    assert Decimal(page[0]["attributes"]["volume_usd"]["h24"]) > 50_000
    for pool in page:
        attrs = pool["attributes"]
        assert Decimal("1e-9") < Decimal(attrs["base_token_price_usd"]) < 1
        assert 180 < Decimal(attrs["quote_token_price_usd"]) < 230
        assert Decimal(attrs["reserve_in_usd"]) >= 0
        assert len(attrs["base_token_price_usd"].split(".")[1]) >= 15


def every_pool(running) -> tuple[dict, list[dict]]:
    world = running.world()
    pools = {p["address"]: p for ps in world["pools"].values() for p in ps}
    addresses = list(pools)
    served = []
    for i in range(0, len(addresses), 30):
        chunk = ",".join(addresses[i : i + 30])
        served += get(running, f"networks/solana/pools/multi/{chunk}").json()["data"]
    return pools, served


def test_trade_rates_are_heavy_tailed(simulator_frozen):
    pools, _ = every_pool(simulator_frozen)
    rates = sorted(p["trades_per_day"] for p in pools.values())
    assert 5 <= sum(r >= 1000 for r in rates) <= 20, "a few pools trade thousands of times a day"
    assert sum(r < 100 for r in rates) > 0.7 * len(rates), "most trade a few dozen times"
    assert 10 <= rates[len(rates) // 2] <= 100
    assert rates[0] >= 5


def test_volume_trades_and_reserve_agree(simulator_frozen):
    """h24 volume is trades × a mean trade size (each minute's factor lies in 0.25–3.25 of it),
    trades follow the pool's rate on a quiet or busy day, and the reserve turns over 0.3–3
    times a day give or take that day. Pools younger than two days are left out: their 24 h
    is partial; so is a quiet pool that turns busy later (its rate is the busy one)."""
    pools, served = every_pool(simulator_frozen)
    turnovers = []
    for pool in served:
        attrs = pool["attributes"]
        world = pools[attrs["address"]]
        if world["pool_created_at"] > SIMULATOR_NOW - 2 * 86400 or "busy_from" in world:
            continue
        tx, volume = h24_tx(pool), float(attrs["volume_usd"]["h24"])
        rate = world["trades_per_day"]
        slack = 4 * rate**0.5  # Poisson noise around a day factor of 0.38–2.08
        assert 0.37 * rate - slack <= tx <= 2.1 * rate + slack
        mean = world["mean_trade_usd"]
        assert 0.25 * mean * tx * 0.999 <= volume <= 3.25 * mean * tx * 1.001
        turnovers.append(volume / float(attrs["reserve_in_usd"]))
    turnovers.sort()
    assert len(turnovers) > 100
    n = len(turnovers)
    assert 0.005 < turnovers[0] and turnovers[-1] < 10, "a quiet pool's quiet day, at worst"
    assert 0.05 < turnovers[n // 20] and turnovers[-n // 20] < 5
    assert 0.3 < turnovers[n // 2] < 1.5


def test_token_market_data_and_info(simulator_frozen):
    world = simulator_frozen.world()
    mint = world["pools"]["pumpswap"][0]["base_token"]
    body = get(simulator_frozen, f"networks/solana/tokens/{mint}", include="top_pools").json()
    data = body["data"]
    assert data["id"] == f"solana_{mint}" and data["type"] == "token"
    attrs = data["attributes"]
    assert list(attrs) == [
        *TOKEN_ATTRIBUTES,
        "total_supply",
        "normalized_total_supply",
        "price_usd",
        "fdv_usd",
        "total_reserve_in_usd",
        "volume_usd",
        "market_cap_usd",
    ]
    assert attrs["decimals"] == 6 and attrs["total_supply"].endswith(".0")
    for key in ("normalized_total_supply", "price_usd", "fdv_usd", "total_reserve_in_usd"):
        decimal_or_none(attrs[key])
    top = data["relationships"]["top_pools"]["data"]
    assert top and all(t["type"] == "pool" for t in top)
    assert [p["id"] for p in body["included"]] == [t["id"] for t in top]
    info = get(simulator_frozen, f"networks/solana/tokens/{mint}/info").json()["data"]
    ia = info["attributes"]
    for key in ("websites", "categories", "gt_category_ids"):
        assert isinstance(ia[key], list)
    assert isinstance(ia["gt_verified"], bool)
    assert ia["gt_score"] is None or isinstance(ia["gt_score"], float)
    assert set(ia["gt_score_details"]) == {"pool", "transaction", "creation", "info", "holders"}
    assert isinstance(ia["holders"]["count"], int)
    assert set(ia["holders"]["distribution_percentage"]) == {"top_10", "11_20", "21_40", "rest"}
    for key in ("discord_url", "farcaster_url", "zora_url", "telegram_handle", "twitter_handle"):
        assert ia[key] is None or isinstance(ia[key], str)
    sol = get(simulator_frozen, f"networks/solana/tokens/{WSOL}").json()["data"]
    assert sol["attributes"]["symbol"] == "SOL"
    assert 180 < Decimal(sol["attributes"]["price_usd"]) < 230
    assert get(simulator_frozen, "networks/solana/tokens/Nope1111/info").status_code == 404


def test_unknown_api_path_is_a_jsonapi_404(simulator_frozen):
    resp = get(simulator_frozen, "networks/solana/whatever")
    assert resp.status_code == 404 and resp.json()["errors"][0]["title"] == "Not Found"
