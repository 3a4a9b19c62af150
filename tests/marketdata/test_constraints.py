"""Every natural key rejects a duplicate at the database, whatever code path writes it."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from marketdata.models import Candle, Dex, Gap, Network, Pool, PoolSnapshot, Token
from watchlist.models import WatchlistEntry

from .factories import T0, dex, network, pool, token, trade

pytestmark = pytest.mark.django_db


def assert_rejected(constraint: str, create) -> None:
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        create()


def assert_rejected_by_key(columns: str, create) -> None:
    """A monthly partition (marketdata.partitions) names its copy of the key its own way."""
    assert_rejected(rf"(?s)unique constraint.*Key \({columns}\)=", create)


def test_network_slug_is_unique():
    network()
    assert_rejected("uq_network_slug", lambda: Network.objects.create(slug="solana"))


def test_dex_is_unique_per_network():
    dex("heaven")
    assert_rejected(
        "uq_dex_network_slug", lambda: Dex.objects.create(network=network(), slug="heaven")
    )
    Dex.objects.create(network=network("eth"), slug="heaven")


@pytest.mark.parametrize(
    ("make", "model", "constraint", "address"),
    [
        (token, Token, "uq_token_network_address", "So11111111111111111111111111111111111111112"),
        (pool, Pool, "uq_pool_network_address", "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"),
    ],
    ids=["token", "pool"],
)
def test_an_address_is_unique_per_network(make, model, constraint, address):
    make(address)
    assert_rejected(constraint, lambda: model.objects.create(network=network(), address=address))


def test_candle_is_unique_per_pool_timeframe_and_open_time():
    p = pool()
    values = dict(open=1, high=1, low=1, close=1, volume_usd=0)
    Candle.objects.create(pool=p, timeframe="1h", ts=T0, **values)
    Candle.objects.create(pool=p, timeframe="4h", ts=T0, **values)
    assert_rejected_by_key(
        "pool_id, timeframe, ts",
        lambda: Candle.objects.create(pool=p, timeframe="1h", ts=T0, **values),
    )


def test_a_trade_is_stored_once():
    p = pool()
    trade(p, "solana_1_tx_0_1")
    assert_rejected_by_key(
        "pool_id, block_timestamp, event_index, tx_key", lambda: trade(p, "solana_1_tx_0_1")
    )
    trade(p, "solana_1_tx_1_1")  # another event of the same transaction


def test_gap_is_unique_per_pool_timeframe_and_start():
    p = pool()
    Gap.objects.create(pool=p, timeframe="1m", start=T0, end=T0.replace(hour=1))
    assert_rejected(
        "uq_gap_pool_tf_start",
        lambda: Gap.objects.create(pool=p, timeframe="1m", start=T0, end=T0.replace(hour=2)),
    )


def test_gap_must_end_after_it_starts():
    p = pool()
    assert_rejected(
        "ck_gap_end_after_start",
        lambda: Gap.objects.create(pool=p, timeframe="1m", start=T0, end=T0),
    )


def test_pool_snapshot_is_unique_per_pool_and_time():
    p = pool()
    PoolSnapshot.objects.create(pool=p, taken_at=T0)
    assert_rejected(
        "uq_poolsnapshot_pool_taken", lambda: PoolSnapshot.objects.create(pool=p, taken_at=T0)
    )


def test_watchlist_pool_is_unique_per_network():
    WatchlistEntry.objects.create(pool_address="7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP")
    assert_rejected(
        "uq_watchlist_network_pool",
        lambda: WatchlistEntry.objects.create(
            pool_address="7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"
        ),
    )
