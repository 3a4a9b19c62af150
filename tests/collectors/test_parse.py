"""The normalisation layer against raw API bodies rebuilt from the recorded real responses.

Fixtures (``fixtures/api``): dexes page 1, ``new_pools`` (5 of the 20 recorded pools, with their
``included``), the OHLCV body (first 10 candles, number text byte-exact), trades (first 5 rows),
the token, and the multi/single pools rebuilt from the SDK CSVs: those carry only the windows
the SDK kept (h1/h24, no buyers/sellers), i.e. the older shape. ``token_info_cbrl.json`` follows
the documented /info shape; its values beyond the token's identity are illustrative.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import operator
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from collectors.gecko.errors import (
    ApiErrorBody,
    ClientError,
    GeckoError,
    InvalidJSON,
    NotFound,
    PayloadError,
    RateLimited,
    ServerError,
    StatusError,
    TruncatedJSON,
)
from collectors.gecko.parse import (
    api_error,
    check_envelope,
    loads,
    parse_dexes,
    parse_ohlcv,
    parse_pool,
    parse_pool_list,
    parse_token,
    parse_token_info,
    parse_trade_id,
    parse_trades,
    strip_network_prefix,
)
from collectors.gecko.records import (
    CandleRecord,
    DexRecord,
    OhlcvTokenMeta,
    PoolPage,
    TokenRecord,
    TxCounts,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "api"
SOL = "So11111111111111111111111111111111111111112"
CBRL = "5LKHMd2rMSRaG9y4iHwSLRtrJ3dCrJ2CytvBeak8pump"
CBRL_POOL = "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"
WINDOWS = ["m5", "m15", "m30", "h1", "h6", "h24"]


def body(name: str) -> Any:
    """A fixture decoded through :func:`loads`, as the client will."""
    return loads((FIXTURES / name).read_bytes(), name)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def raises_payload(match_message: str, func: Any, *args: Any, **kwargs: Any) -> PayloadError:
    with pytest.raises(PayloadError) as info:
        func(*args, **kwargs)
    assert str(info.value) == match_message
    return info.value


# ----------------------------------------------------------------------------- dexes


def test_dexes_page_keeps_order_and_next_link() -> None:
    dexes, next_url = parse_dexes(body("dexes_solana_page1.json"))
    assert len(dexes) == 20
    assert dexes[:3] == [
        DexRecord("raydium", "Raydium"),
        DexRecord("orca", "Orca"),
        DexRecord("raydium-clmm", "Raydium (CLMM)"),
    ]
    assert dexes[-1] == DexRecord("heaven", "Heaven")
    assert DexRecord("pump-fun", "Pump.fun") in dexes
    assert next_url == "https://api.geckoterminal.com/api/v2/networks/solana/dexes?page=2"


@pytest.mark.parametrize("links", [{"next": None}, None, "absent"])
def test_dexes_last_page_has_no_next(links: Any) -> None:
    doc: dict[str, Any] = {
        "data": [{"id": "uniswap_v3", "type": "dex", "attributes": {"name": "U"}}]
    }
    if links != "absent":
        doc["links"] = links
    assert parse_dexes(doc) == ([DexRecord("uniswap_v3", "U")], None)


# ----------------------------------------------------------------------------- pool lists


def test_new_pools_full_shape_exact_values() -> None:
    page = parse_pool_list(body("new_pools_solana.json"), "solana", endpoint="new_pools")
    assert [p.dex_slug for p in page.pools] == [
        "pump-fun",
        "meteora-dbc",
        "pump-fun",
        "pumpswap",
        "heaven",
    ]
    greg = page.pools[0]
    assert greg.address == "HwXZkhyeGPaLurvrkM29rFrVYomih5M6kfJZtw5PGTBg"
    assert greg.name == "GREG / SOL"
    assert greg.base_token_address == "huGbvMBsED85Z2P2S5bkiJkRbL7RSaqzd1iZ39qpump"
    assert greg.quote_token_address == SOL
    assert str(greg.base_token_price_usd) == (
        "0.0000566673284218277368707532612867396024960039002528290815078515286"
    )
    assert greg.quote_token_price_usd == Decimal(
        "212.765083062004910721176365289786593436894737249"
    )
    assert greg.base_token_price_native is None  # "NaN"
    assert greg.quote_token_price_native is None  # "NaN"
    assert greg.base_token_price_quote_token is None  # null
    assert greg.fdv_usd is None and greg.market_cap_usd is None
    assert greg.reserve_in_usd == Decimal("0.0")
    assert greg.pool_created_at == utc(2025, 9, 9, 1, 42, 11)
    assert greg.pool_created_at.tzinfo is UTC
    assert list(greg.volume_usd) == WINDOWS
    assert greg.volume_usd["h24"] == Decimal("7662.1937296048")
    assert greg.price_change_percentage["m5"] == Decimal("93.594")
    assert greg.transactions["m5"] == TxCounts(buys=20, sells=0, buyers=14, sellers=0)

    wenlist = page.pools[1]
    assert wenlist.base_token_price_native == Decimal("0.000000823981844368777")
    assert wenlist.quote_token_price_native == Decimal("1.0")
    assert wenlist.base_token_price_quote_token == Decimal("0.0000008239818444")
    assert wenlist.quote_token_price_base_token == Decimal("1213618.97332345")
    assert page.pools[2].fdv_usd == Decimal("5958.549618926")


def test_new_pools_included_tokens_and_dexes() -> None:
    page = parse_pool_list(body("new_pools_solana.json"), "solana")
    assert set(page.dexes) == {"pump-fun", "meteora-dbc", "pumpswap", "heaven"}
    assert page.dexes["meteora-dbc"] == DexRecord("meteora-dbc", "Meteora DBC")
    assert len(page.tokens) == 6  # SOL shared by all five pools, deduplicated
    assert page.tokens[SOL] == TokenRecord(
        address=SOL,
        symbol="SOL",
        name="Wrapped SOL",
        decimals=9,
        image_url="https://coin-images.coingecko.com/coins/images/21629/large/solana.jpg?1696520989",
        coingecko_coin_id="wrapped-solana",
    )
    alipay = page.tokens["61anEwnVBX46ZJCGwsxG3sJXquY5rQ8EvStXqy69Tdrs"]
    assert alipay.symbol == "支付宝" and alipay.image_url is None
    assert page.tokens["7dfH8N3HSHrvLDbuCePPL38DBPVTRRMEeqwaXeWrJ777"].decimals == 9
    for pool in page.pools:
        assert pool.base_token_address in page.tokens
        assert pool.dex_slug in page.dexes


def test_pool_address_and_base_token_address_are_never_confused() -> None:
    raw = body("new_pools_solana.json")
    page = parse_pool_list(raw, "solana")
    for pool, item in zip(page.pools, raw["data"], strict=True):
        assert pool.address == item["attributes"]["address"]
        assert f"solana_{pool.address}" == item["id"]
        assert (
            f"solana_{pool.base_token_address}" == item["relationships"]["base_token"]["data"]["id"]
        )
        assert pool.address != pool.base_token_address
        assert pool.address not in page.tokens

    swapped = copy.deepcopy(raw)
    swapped["data"][0]["attributes"]["address"] = page.pools[0].base_token_address
    with pytest.raises(
        PayloadError, match=r"data\[0\]\.id: id .* does not match attributes.address"
    ):
        parse_pool_list(swapped, "solana")


def test_multi_pools_from_sdk_csv_older_window_shape() -> None:
    page = parse_pool_list(body("pools_multi_solana.json"), "solana", endpoint="multi_pools")
    pools = page.by_address()
    assert list(pools) == [CBRL_POOL, "7SWbVXmn2Ar8CqAdVZfQmZcCGmnChRp2JTfuEzyBL17V"]
    cbrl = pools[CBRL_POOL]
    assert cbrl.base_token_address == CBRL
    assert cbrl.dex_slug == "pumpswap"
    assert str(cbrl.base_token_price_usd) == (
        "0.000039202570225661809354830149430549655024315386744451870167117433"
    )
    assert cbrl.base_token_price_native == Decimal("0.0000001843591001348")
    assert cbrl.reserve_in_usd == Decimal("30879.5689")
    assert cbrl.fdv_usd == Decimal("39199.5454569108")
    assert cbrl.market_cap_usd is None
    assert cbrl.price_change_percentage == {"h1": Decimal("-16.322"), "h24": Decimal("-42.45")}
    assert cbrl.transactions == {"h1": TxCounts(23, 15), "h24": TxCounts(398, 308)}
    assert cbrl.transactions["h24"].buyers is None
    assert cbrl.volume_usd == {"h24": Decimal("73496.7809809967")}
    juan = pools["7SWbVXmn2Ar8CqAdVZfQmZcCGmnChRp2JTfuEzyBL17V"]
    assert juan.dex_slug == "heaven"
    assert juan.base_token_address == "5efQfRqBwYDob34CdeYyxnYAhPLKk4Y1Dy3FFNV2C777"
    assert page.tokens == {} and page.dexes == {}


def test_single_pool_object_with_included() -> None:
    page = parse_pool(body("pool_single_cbrl.json"), "solana")
    [pool] = page.pools
    assert pool.address == CBRL_POOL and pool.name == "CBRL / SOL"
    assert pool.base_token_price_usd == Decimal(
        "0.0000476484542718781475759910387357314316616170298772842441779202618"
    )
    assert pool.reserve_in_usd == Decimal("33804.2627")
    assert pool.pool_created_at == utc(2025, 8, 20, 21, 40, 53)
    assert page.tokens[CBRL].name == "Cracker Barrel Old Country Store"
    assert page.tokens[CBRL].coingecko_coin_id is None
    assert page.dexes == {"pumpswap": DexRecord("pumpswap", "PumpSwap")}


def test_single_and_list_shapes_are_not_interchangeable() -> None:
    raises_payload(
        "pool: data: expected object, got array",
        parse_pool,
        body("pools_multi_solana.json"),
        "solana",
    )
    raises_payload(
        "pools: data: expected array, got object",
        parse_pool_list,
        body("pool_single_cbrl.json"),
        "solana",
    )


def _pool_resource(network: str, pool: str, base: str, quote: str, dex: str) -> dict[str, Any]:
    doc = copy.deepcopy(body("pool_single_cbrl.json")["data"])
    doc["id"] = f"{network}_{pool}"
    doc["attributes"]["address"] = pool
    rel = doc["relationships"]
    rel["base_token"]["data"]["id"] = f"{network}_{base}"
    rel["quote_token"]["data"]["id"] = f"{network}_{quote}"
    rel["dex"]["data"]["id"] = dex
    return doc


def test_network_with_underscore_strips_prefix_safely() -> None:
    doc = {"data": [_pool_resource("polygon_pos", "0xabc", "0xbase", "0xquote", "uniswap_v3")]}
    [pool] = parse_pool_list(doc, "polygon_pos").pools
    assert (pool.address, pool.base_token_address, pool.quote_token_address) == (
        "0xabc",
        "0xbase",
        "0xquote",
    )
    assert pool.dex_slug == "uniswap_v3"
    assert strip_network_prefix("polygon_pos_0xabc", "polygon_pos") == "0xabc"
    assert strip_network_prefix("solana_a_b", "solana") == "a_b"


@pytest.mark.parametrize(
    ("resource_id", "network"),
    [("polygon_0xabc", "polygon_pos"), ("eth_0xabc", "solana"), ("polygon_pos_", "polygon_pos")],
)
def test_strip_network_prefix_rejects_foreign_or_empty_ids(resource_id: str, network: str) -> None:
    with pytest.raises(PayloadError, match="id"):
        strip_network_prefix(resource_id, network)


def test_pool_of_another_network_is_rejected_with_path() -> None:
    raises_payload(
        "new_pools: data[0].id: expected id prefixed 'eth_', got "
        "'solana_HwXZkhyeGPaLurvrkM29rFrVYomih5M6kfJZtw5PGTBg'",
        parse_pool_list,
        body("new_pools_solana.json"),
        "eth",
        endpoint="new_pools",
    )


# ----------------------------------------------------------------------------- tokens


def test_token_market_data_exact() -> None:
    token = parse_token(body("token_cbrl.json"), "solana")
    assert token == TokenRecord(
        address=CBRL,
        symbol="CBRL",
        name="Cracker Barrel Old Country Store",
        decimals=6,
        image_url="https://assets.geckoterminal.com/52ah33wkaouh2fax4lnkwvpq2vhz",
        coingecko_coin_id=None,
        total_supply=Decimal("999922842480187.0"),
        normalized_total_supply=Decimal("999922842.480187"),
        price_usd=Decimal("0.00004764845427"),
        fdv_usd=Decimal("47644.7778353236"),
        market_cap_usd=None,
        total_reserve_in_usd=Decimal("17177.0163064019881364397"),
        volume_usd={"h24": Decimal("124737.925416128")},
        last_trade_timestamp=None,
        top_pool_addresses=(
            CBRL_POOL,
            "7hb25J3UPoEW4GG8dh2o6qwtzFRY348AGKjmiW8dSddN",
            "H3j73uERseKuWwMehDegcmV3Tv9yBRie1nhSmRhciYeg",
        ),
    )


@pytest.mark.parametrize("value", [1756397712, "1756397712", "2025-08-28T16:15:12Z"])
def test_last_trade_timestamp_accepts_int_or_string(value: Any) -> None:
    doc = body("token_cbrl.json")
    doc["data"]["attributes"]["last_trade_timestamp"] = value
    assert parse_token(doc, "solana").last_trade_timestamp == utc(2025, 8, 28, 16, 15, 12)


def test_token_info_metadata_and_extra() -> None:
    raw = body("token_info_cbrl.json")
    info = parse_token_info(raw, "solana")
    assert (info.address, info.symbol, info.decimals) == (CBRL, "CBRL", 6)
    assert info.websites == ("https://pump.fun/coin/" + CBRL,)
    assert info.twitter_handle == "CBRLonSOL" and info.discord_url is None
    assert info.description == "Cracker Barrel Old Country Store memecoin.\r\nLaunched on pump.fun."
    assert info.gt_score == 37.61467889908257
    assert info.gt_score_details["holders"] == 10.5
    assert info.gt_verified is False
    assert info.categories == ("Meme",) and info.gt_category_ids == ("meme",)
    assert info.holders_count == 2487
    assert info.holders_distribution == {
        "top_10": Decimal("28.9123"),
        "11_20": Decimal("6.1044"),
        "21_40": Decimal("7.5512"),
        "rest": Decimal("57.4321"),
    }
    assert info.holders_last_updated == utc(2025, 8, 28, 16, 10, 4)
    assert info.image["large"] == info.image_url
    assert info.mint_authority == "no" and info.is_honeypot == "no"
    assert info.metadata_updated_at == utc(2025, 8, 21, 9, 12, 40)
    assert info.extra == raw["data"]["attributes"]


def test_token_info_minimal_subset_defaults() -> None:
    doc = {
        "data": {
            "id": "solana_abc",
            "type": "token",
            "attributes": {"address": "abc", "name": "A", "symbol": "A", "gt_score": None},
        }
    }
    info = parse_token_info(doc, "solana")
    assert info.websites == () and info.holders_count is None and info.gt_score is None
    assert info.holders_distribution == {} and info.extra["gt_score"] is None


# ----------------------------------------------------------------------------- ohlcv


def test_ohlcv_newest_first_with_meta() -> None:
    page = parse_ohlcv(body("ohlcv_cbrl_15m.json"))
    assert page.request_id == "d5d9f0eb-de65-400c-a7b2-31f981706a88"
    assert len(page.candles) == 10
    assert page.candles[0] == CandleRecord(
        timestamp=utc(2025, 8, 21, 6, 0),
        open=0.00001613691542742065,
        high=0.000018577063943794163,
        low=0.00001613691542742065,
        close=0.000018111106133282376,
        volume_usd=941.0332575772828,
    )
    stamps = [c.timestamp.timestamp() for c in page.candles]
    assert stamps[0] == 1755756000
    assert all(a - b == 900 for a, b in zip(stamps, stamps[1:], strict=False))
    assert all(c.timestamp.tzinfo is UTC for c in page.candles)
    assert page.base == OhlcvTokenMeta(CBRL, "Cracker Barrel Old Country Store", "CBRL", None)
    assert page.quote == OhlcvTokenMeta(SOL, "Wrapped SOL", "SOL", "wrapped-solana")


def test_ohlcv_without_meta_or_candles() -> None:
    doc = body("ohlcv_cbrl_15m.json")
    del doc["meta"]
    doc["data"]["attributes"]["ohlcv_list"] = []
    page = parse_ohlcv(doc)
    assert page.candles == [] and page.base is None and page.quote is None


@pytest.mark.parametrize(
    ("index", "value", "message"),
    [
        (1, "abc", "data.attributes.ohlcv_list[3][1]: expected number, got 'abc'"),
        (5, None, "data.attributes.ohlcv_list[3][5]: expected number, got null"),
        (2, True, "data.attributes.ohlcv_list[3][2]: expected number, got true"),
        (
            0,
            1755753300.0,
            "data.attributes.ohlcv_list[3][0]: expected integer epoch seconds, got 1755753300.0",
        ),
    ],
)
def test_ohlcv_bad_candle_value_names_the_cell(index: int, value: Any, message: str) -> None:
    doc = body("ohlcv_cbrl_15m.json")
    doc["data"]["attributes"]["ohlcv_list"][3][index] = value
    raises_payload(f"ohlcv: {message}", parse_ohlcv, doc)


def test_ohlcv_short_candle() -> None:
    doc = body("ohlcv_cbrl_15m.json")
    doc["data"]["attributes"]["ohlcv_list"][0] = [1755756000, 1.0]
    with pytest.raises(PayloadError, match=r"ohlcv_list\[0\]: expected \[timestamp, open"):
        parse_ohlcv(doc)


# ----------------------------------------------------------------------------- trades


def test_trades_exact_decimals_and_whole_ids() -> None:
    trades = parse_trades(body("trades_cbrl.json"), "solana")
    assert len(trades) == 5
    first = trades[0]
    assert first.trade_id == (
        "solana_363106602_432SvDgRKPzNWyZjZjv8cu8CS3tQtKGSJBCzQW4Ppwz5VYxEM3w1UChE9GYWeovMD"
        "wyBzWYX73fXHcwiXjbYuu9N_42_1756397712"
    )
    assert first.block_number == 363106602
    assert first.side == "buy"
    assert (first.from_token_address, first.to_token_address) == (SOL, CBRL)
    assert first.volume_usd == Decimal("532.712044209470242119280771152461839182058804794342390432")
    assert str(first.volume_usd) == "532.712044209470242119280771152461839182058804794342390432"
    assert first.price_to_in_usd == Decimal(
        "0.0000493804611736865774611869570754394294604142126779721093309794408"
    )
    assert first.from_token_amount == Decimal("2.505487036")
    assert first.to_token_amount == Decimal("10787911.48458")
    assert first.price_from_in_currency_token == Decimal("1.0")
    assert first.block_timestamp == utc(2025, 8, 28, 16, 15, 8)
    sell = trades[2]
    assert sell.side == "sell" and sell.from_token_address == CBRL
    assert str(sell.volume_usd) == (
        "224.0256152375124252633208605113249886639089193516000108766384621917753896348"
    )


def test_trade_id_parses_from_the_right() -> None:
    solana = parse_trade_id(parse_trades(body("trades_cbrl.json"), "solana")[0].trade_id, "solana")
    assert (solana.network, solana.block_number, solana.event_index, solana.unix_ts) == (
        "solana",
        363106602,
        42,
        1756397712,
    )
    assert solana.tx_hash.startswith("432SvDg") and solana.tx_hash.endswith("uu9N")
    polygon = parse_trade_id("polygon_pos_51234567_0xdeadbeef_7_1756397712", "polygon_pos")
    assert (polygon.network, polygon.block_number, polygon.tx_hash, polygon.event_index) == (
        "polygon_pos",
        51234567,
        "0xdeadbeef",
        7,
    )
    with pytest.raises(PayloadError):
        parse_trade_id("polygon_pos_0xdeadbeef_7", "polygon_pos")
    with pytest.raises(PayloadError):
        parse_trade_id("polygon_pos_1_0xab_7_1", "polygon")  # "pos" is no block number


def test_trade_kind_and_network_validated() -> None:
    doc = body("trades_cbrl.json")
    doc["data"][1]["attributes"]["kind"] = "swap"
    raises_payload(
        "trades: data[1].attributes.kind: expected 'buy' or 'sell', got 'swap'",
        parse_trades,
        doc,
        "solana",
    )
    with pytest.raises(PayloadError, match=r"trades: data\[0\]\.id: expected id prefixed 'eth_'"):
        parse_trades(body("trades_cbrl.json"), "eth")


# ----------------------------------------------------------------------------- envelope / errors


def _all_parsers() -> list[Any]:
    return [
        lambda b: parse_dexes(b),
        lambda b: parse_pool_list(b, "solana"),
        lambda b: parse_pool(b, "solana"),
        lambda b: parse_token(b, "solana"),
        lambda b: parse_token_info(b, "solana"),
        lambda b: parse_ohlcv(b),
        lambda b: parse_trades(b, "solana"),
    ]


@pytest.mark.parametrize(
    ("fixture", "status", "title", "rate_limited"),
    [
        ("error_rate_limited.json", 429, "Rate Limited", True),
        ("error_rate_limited_coingecko.json", 429, None, True),
        ("error_not_found.json", 404, "Not Found", False),
    ],
)
def test_error_documents_raise_under_any_status(
    fixture: str, status: int, title: str | None, rate_limited: bool
) -> None:
    doc = body(fixture)
    for parse in _all_parsers():
        with pytest.raises(ApiErrorBody) as info:
            parse(doc)
        error = info.value
        assert (error.status, error.title, error.is_rate_limited) == (status, title, rate_limited)
        assert error.retryable is rate_limited
        assert error.body == doc
    assert api_error(doc, "ohlcv").endpoint == "ohlcv"


def test_coingecko_style_throttle_keeps_its_message() -> None:
    with pytest.raises(ApiErrorBody, match="ohlcv: API error: 429 You've exceeded the Rate Limit"):
        check_envelope(body("error_rate_limited_coingecko.json"), "ohlcv")


def test_rate_limit_recognised_by_text_without_code() -> None:
    error = api_error({"errors": [{"title": "Rate limit exceeded"}]}, "pools")
    assert error is not None and error.status is None and error.is_rate_limited


@pytest.mark.parametrize(
    "doc", [{"data": [], "errors": [{"status": "500"}]}, {"data": {}, "status": {"error_code": 1}}]
)
def test_body_with_data_is_not_an_error_document(doc: dict[str, Any]) -> None:
    assert api_error(doc, "pools") is None


def test_missing_data_and_non_object_body() -> None:
    raises_payload("pools: data: required field is missing", check_envelope, {"meta": {}}, "pools")
    raises_payload("trades: <body>: expected object, got array", parse_trades, [], "solana")


def test_empty_lists_are_fine() -> None:
    empty = {"data": []}
    assert parse_pool_list(empty, "solana") == PoolPage(pools=[], tokens={}, dexes={})
    assert parse_trades(empty, "solana") == []
    assert parse_dexes(empty) == ([], None)


@pytest.mark.parametrize(
    "raw", [b'{"data": [{"id": "solana_', b"", b"<html>502 Bad Gateway</html>"]
)
def test_truncated_or_non_json_body(raw: bytes) -> None:
    with pytest.raises(TruncatedJSON) as info:
        loads(raw, "ohlcv")
    assert isinstance(info.value, InvalidJSON) and isinstance(info.value, PayloadError)
    assert str(info.value).startswith("ohlcv: <body>: body is not valid JSON")
    assert info.value.endpoint == "ohlcv" and info.value.retryable


@pytest.mark.parametrize(
    ("item", "part", "field", "named", "message"),
    [
        (
            1,
            "attributes",
            "address",
            {"endpoint": "new_pools"},
            "new_pools: data[1].attributes.address",
        ),
        (0, "relationships", "base_token", {}, "pools: data[0].relationships.base_token"),
    ],
    ids=["named endpoint", "default endpoint"],
)
def test_missing_required_field_names_endpoint_and_path(item, part, field, named, message) -> None:
    doc = body("new_pools_solana.json")
    del doc["data"][item][part][field]
    raises_payload(f"{message}: required field is missing", parse_pool_list, doc, "solana", **named)


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("transactions", "h24", "buys"), "20", "expected integer, got '20'"),
        (("transactions", "h24", "buys"), True, "expected integer, got true"),
        (("reserve_in_usd",), 1.5, "expected decimal string, got 1.5"),
        (("reserve_in_usd",), "abc", "expected decimal string, got 'abc'"),
        (("reserve_in_usd",), "1_000", "expected decimal string, got '1_000'"),
        (("name",), None, "expected string, got null"),
        (("volume_usd",), [], "expected object, got array"),
        (
            ("pool_created_at",),
            "2025-09-09T01:42:11",
            "expected ISO-8601 timestamp with zone or epoch seconds, got '2025-09-09T01:42:11'",
        ),
    ],
)
def test_wrong_types_name_the_field(path: tuple[str, ...], value: Any, problem: str) -> None:
    doc = body("new_pools_solana.json")
    target = doc["data"][2]["attributes"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    raises_payload(
        f"pools: data[2].attributes.{'.'.join(path)}: {problem}", parse_pool_list, doc, "solana"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NaN", None),
        ("-NaN", None),
        ("Infinity", None),
        (None, None),
        ("0.0", Decimal("0.0")),
        ("1e-7", Decimal("1E-7")),
        ("-99.6", Decimal("-99.6")),
    ],
)
def test_money_values(text: str | None, expected: Decimal | None) -> None:
    doc = body("new_pools_solana.json")
    doc["data"][0]["attributes"]["fdv_usd"] = text
    assert parse_pool_list(doc, "solana").pools[0].fdv_usd == expected


def test_http_status_errors_carry_endpoint_and_retry_hint() -> None:
    limited = RateLimited(0, endpoint="ohlcv")
    assert (limited.status, limited.retry_after, limited.retryable) == (429, 0, True)
    assert str(limited) == "ohlcv: HTTP 429"
    missing = NotFound(endpoint="pool", detail="Not Found")
    assert isinstance(missing, ClientError) and missing.status == 404 and not missing.retryable
    assert str(missing) == "pool: HTTP 404: Not Found"
    assert ServerError(502, endpoint="trades").retryable
    assert not ClientError(400, endpoint="multi_pools").retryable
    for error in (limited, missing, ServerError(503, endpoint="x")):
        assert isinstance(error, StatusError) and isinstance(error, GeckoError)
    assert not issubclass(RateLimited, ClientError)  # a throttle is retried; a 4xx is not


def test_records_are_frozen() -> None:
    dex = DexRecord("raydium", "Raydium")
    with pytest.raises(dataclasses.FrozenInstanceError):
        dex.name = "x"  # type: ignore[misc]


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return [path]
    return [path] + [p for key, child in items for p in _leaf_paths(child, (*path, key))]


_DELETE = object()
_PARSE_BY_FIXTURE = {
    "dexes_solana_page1.json": lambda b: parse_dexes(b),
    "new_pools_solana.json": lambda b: parse_pool_list(b, "solana"),
    "pool_single_cbrl.json": lambda b: parse_pool(b, "solana"),
    "token_cbrl.json": lambda b: parse_token(b, "solana"),
    "token_info_cbrl.json": lambda b: parse_token_info(b, "solana"),
    "ohlcv_cbrl_15m.json": lambda b: parse_ohlcv(b),
    "trades_cbrl.json": lambda b: parse_trades(b, "solana"),
}


@pytest.mark.parametrize("fixture", sorted(_PARSE_BY_FIXTURE))
def test_any_corruption_raises_only_gecko_errors(fixture: str) -> None:
    """Replace or delete every node in turn: the result parses or raises a GeckoError, never
    a bare KeyError/TypeError/ValueError. Mutates in place and restores, to stay fast."""
    doc = json.loads((FIXTURES / fixture).read_text())
    if isinstance(doc["data"], list):
        del doc["data"][2:]  # two items still exercise indexed paths
    pristine = copy.deepcopy(doc)
    parse = _PARSE_BY_FIXTURE[fixture]
    parse(doc)
    for path in _leaf_paths(doc)[1:]:
        parent = functools.reduce(operator.getitem, path[:-1], doc)
        key = path[-1]
        original = parent[key]
        for replacement in (None, {}, [], "x", 1.5, True, _DELETE):
            if replacement is _DELETE:
                del parent[key]
            else:
                parent[key] = replacement
            try:
                parse(doc)
            except GeckoError:
                pass
            if isinstance(parent, list) and replacement is _DELETE:
                parent.insert(key, original)
            else:
                parent[key] = original
    assert doc == pristine


def test_parsers_import_no_django() -> None:
    code = (
        "import sys, collectors.gecko.parse, collectors.gecko.errors; "
        "assert not [m for m in sys.modules if m.split('.')[0] in ('django', 'httpx')], 'heavy'"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
