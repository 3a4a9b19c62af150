"""Store upserts are idempotent and report honestly what they wrote."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine

from marketdata import store
from marketdata.models import Candle, Dex, Pool, Token, Trade

from .factories import T0, candle_rows, network, pool

pytestmark = pytest.mark.django_db


def test_upserting_the_same_10000_candles_twice_keeps_10000_rows():
    rows = candle_rows(pool().pk, 10_000)

    first = store.upsert_candles(rows)
    second = store.upsert_candles(rows)

    assert Candle.objects.count() == 10_000
    assert (first.inserted, first.updated) == (10_000, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 10_000)


def test_it_updates_a_moving_candle_and_counts_it():
    rows = candle_rows(pool().pk, 3)
    store.upsert_candles(rows)
    moved = [dict(rows[-1], close=99.0, is_final=False)]

    result = store.upsert_candles(moved)

    assert (result.inserted, result.updated) == (0, 1)
    latest = Candle.objects.get(ts=rows[-1]["ts"])
    assert (latest.close, latest.is_final) == (99.0, False)


def test_it_collapses_a_key_repeated_within_one_call():
    rows = candle_rows(pool().pk, 2)
    result = store.upsert_candles([rows[0], rows[1], dict(rows[1], close=7.0)])
    assert result.inserted == 2
    assert Candle.objects.get(ts=rows[1]["ts"]).close == 7.0


def trade_row(**fields) -> dict:
    """A trade row as upsert_trades takes it, for the stored pool, with ``fields`` set."""
    return {
        "trade_id": "solana_1_tx_0_1",
        "pool_id": pool().pk,
        "block_number": 1,
        "block_timestamp": T0,
        "tx_hash": "tx",
        "side": "sell",
        "from_token_address": "a",
        "to_token_address": "b",
        "from_token_amount": Decimal("1"),
        "to_token_amount": Decimal("2"),
        "volume_usd": Decimal("100.5"),
        **fields,
    }


def test_a_60_decimal_trade_volume_survives_a_round_trip_exactly():
    text = "532.712044209470242119280771152461839182058804794342390432123456789"
    assert len(text.split(".")[1]) >= 60
    row = trade_row(
        from_token_amount=Decimal("2.505487036"),
        to_token_amount=Decimal("10787911.48458"),
        price_to_in_usd=Decimal(
            "0.0000493804611736865774611869570754394294604142126779721093309794408"
        ),
        volume_usd=Decimal(text),
    )
    store.upsert_trades([row])

    trade = Trade.objects.get()
    assert str(trade.volume_usd) == text
    assert str(trade.price_to_in_usd) == str(row["price_to_in_usd"])
    assert str(trade.to_token_amount) == "10787911.48458"


def test_a_repeated_trade_is_ignored():
    row = trade_row()
    assert store.upsert_trades([row]).inserted == 1
    assert store.upsert_trades([row, row]).written == 0
    assert Trade.objects.count() == 1


def test_dex_upsert_never_overwrites_the_operators_target_flag():
    net = network()
    store.upsert_dexes([{"network_id": net.pk, "slug": "heaven", "name": "Heaven"}])
    Dex.objects.filter(slug="heaven").update(is_target=True)

    result = store.upsert_dexes([{"network_id": net.pk, "slug": "heaven", "name": "Heaven v2"}])

    heaven = Dex.objects.get(slug="heaven")
    assert (result.updated, heaven.name, heaven.is_target) == (1, "Heaven v2", True)


def test_token_upsert_refreshes_only_the_columns_given():
    net = network()
    address = "5LKHMd2rMSRaG9y4iHwSLRtrJ3dCrJ2CytvBeak8pump"
    store.upsert_tokens(
        [
            {
                "network_id": net.pk,
                "address": address,
                "symbol": "CBRL",
                "decimals": 6,
                "info": {"gt_score": 82.5},
            }
        ]
    )
    store.upsert_tokens([{"network_id": net.pk, "address": address, "price_usd": Decimal("1.5")}])

    token = Token.objects.get()
    assert (token.symbol, token.decimals, token.info, token.price_usd) == (
        "CBRL",
        6,
        {"gt_score": 82.5},
        Decimal("1.5"),
    )


def test_upsert_rejects_rows_without_their_key():
    with pytest.raises(ValueError, match="lack key columns"):
        store.upsert_tokens([{"network_id": network().pk, "symbol": "X"}])


def test_a_pool_is_first_seen_by_the_collectors_clock_and_keeps_that_time():
    """The planner measures a new pool's wait from ``first_seen_at``: the database's clock there
    left never-fetched timeframes of the replay (virtual time, a month behind the database)
    waiting for ever. A later upsert of the same pool keeps the first time."""
    net = network()
    row = {"network_id": net.pk, "address": "F" * 44, "name": "F / SOL"}
    with time_machine.travel(datetime(2026, 11, 1, 12, tzinfo=UTC), tick=False):
        store.upsert_pools([row])
    with time_machine.travel(datetime(2026, 11, 3, tzinfo=UTC), tick=False):
        store.upsert_pools([dict(row, name="F / SOL renamed")])
    seen = Pool.objects.get(address="F" * 44)
    assert seen.first_seen_at == datetime(2026, 11, 1, 12, tzinfo=UTC)
    assert seen.name == "F / SOL renamed"
