"""Small builders for market-data rows; tests say only what matters to them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from marketdata import store, trade_layout
from marketdata.models import Candle, Dex, Network, Pool, Token, Trade

T0 = datetime(2025, 8, 20, tzinfo=UTC)


def network(slug: str = "solana") -> Network:
    return store.get_network(slug)


def dex(slug: str = "pumpswap", **extra) -> Dex:
    return Dex.objects.create(network=network(), slug=slug, **extra)


def token(address: str = "5LKHMd2rMSRaG9y4iHwSLRtrJ3dCrJ2CytvBeak8pump", **extra) -> Token:
    return Token.objects.create(network=network(), address=address, **extra)


def pool(address: str = "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP", **extra) -> Pool:
    return Pool.objects.create(network=network(), address=address, **extra)


def candle_rows(pool_id: int, count: int, timeframe: str = "1m", step: int = 60) -> list[dict]:
    return [
        {
            "pool_id": pool_id,
            "timeframe": timeframe,
            "ts": T0 + timedelta(seconds=i * step),
            "open": 1.0 + i,
            "high": 2.0 + i,
            "low": 0.5 + i,
            "close": 1.5 + i,
            "volume_usd": 10.0 * i,
            "is_final": True,
        }
        for i in range(count)
    ]


def candle(
    pool_obj: Pool, timeframe: str, ts: datetime, ohlc: tuple[float, ...], volume_usd: float
) -> Candle:
    """One stored candle: ``ohlc`` is (open, high, low, close)."""
    open_, high, low, close = ohlc
    return Candle.objects.create(
        pool=pool_obj, timeframe=timeframe, ts=ts, open=open_, high=high, low=low, close=close,
        volume_usd=volume_usd,
    )  # fmt: skip


def trade(pool_obj: Pool, trade_id: str = "solana_1_tx_0_1", **extra) -> Trade:
    values = {
        "block_number": 1,
        "block_timestamp": T0,
        "tx_hash": "tx",
        "side": "buy",
        "from_token_address": "a",
        "to_token_address": "b",
        "from_token_amount": "1",
        "to_token_amount": "2",
        "volume_usd": "3",
        **extra,
    }
    (row,) = trade_layout.encode_rows([{"pool_id": pool_obj.pk, "trade_id": trade_id, **values}])
    return Trade.objects.create(**row)
