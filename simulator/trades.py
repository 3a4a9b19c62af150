"""Individual swaps behind the minute series: the ``/trades`` endpoint's last 300 within 24 h.

Trades of an hour are generated together from ``(seed, pool, hour)``: counts, prices and
volumes come from that hour's minutes, so the same trade always has the same id and new
trades appear only as the clock passes them.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

import numpy as np

from .cache import Lru
from .formatting import amount, iso, long_decimal, sig_decimal
from .hashing import rng, signature, wallet
from .market import MarketModel, sol_price
from .world import WSOL, Pool

MAX_TRADES = 300
WINDOW_SECONDS = 86400
# Anchors Solana slot numbers to time (slots are ~400 ms), from the recorded trade sample.
SLOT_T0 = 1756397708
SLOT0 = 363106602
_WIDE = decimal.Context(prec=120)


@dataclass(frozen=True)
class HourTrades:
    """Numeric columns of one hour's trades, ascending by time."""

    ts: np.ndarray
    usd: np.ndarray
    price: np.ndarray
    buy: np.ndarray
    index: np.ndarray
    delay: np.ndarray
    wallet: np.ndarray
    slot_jitter: np.ndarray


class TradeBook:
    """Builds the trade list of a pool as seen at a given "now"."""

    def __init__(self, model: MarketModel) -> None:
        self.model = model
        self._hours: Lru[HourTrades] = Lru(512)
        self._rendered: Lru[dict] = Lru(30000)

    def _hour(self, pool: Pool, hour: int) -> HourTrades:
        return self._hours.get_or_make((pool.address, hour), lambda: self._make_hour(pool, hour))

    def _make_hour(self, pool: Pool, hour: int) -> HourTrades:
        mins = self.model.minutes(pool, hour * 60, hour * 60 + 59)
        counts = mins.trades
        total = int(counts.sum())
        g = rng(self.model.seed, pool.address, "trades", hour)
        minute = np.repeat(np.arange(60), counts)
        second = np.sort(g.integers(0, 60, total) + minute * 60)
        weight = g.lognormal(0.0, 0.9, total)
        share = weight / np.bincount(minute, weight, 60)[minute]
        buy_share = mins.buys / np.maximum(counts, 1)
        frac = (second - minute * 60 + g.random(total)) / 60.0
        log_o, log_c = np.log(mins.open[minute]), np.log(mins.close[minute])
        wallets = max(30, int(pool.activity * 360))
        return HourTrades(
            ts=hour * 3600 + second,
            usd=mins.volume[minute] * share,
            price=np.exp(log_o + frac * (log_c - log_o)),
            buy=g.random(total) < buy_share[minute],
            index=g.integers(1, 250, total),
            delay=g.integers(4, 9, total),
            wallet=g.integers(0, wallets, total),
            slot_jitter=g.integers(0, 3, total),
        )

    def trades(self, pool: Pool, now: float, min_usd: Decimal, network: str) -> list[dict]:
        """Newest-first trades in the last 24 h with volume strictly above ``min_usd``."""
        now_i = int(now)
        start = now_i - WINDOW_SECONDS
        floor = float(min_usd) * (1 - 1e-9)
        out: list[dict] = []
        hour = now_i // 3600
        while len(out) < MAX_TRADES and (hour + 1) * 3600 > start:
            batch = self._hour(pool, hour)
            picks = np.flatnonzero((batch.ts <= now_i) & (batch.ts > start) & (batch.usd > floor))
            for i in picks[::-1]:
                trade = self._rendered.get_or_make(
                    (pool.address, hour, int(i)),
                    partial(self._render, pool, batch, int(i), hour, network),
                )
                if Decimal(trade["attributes"]["volume_in_usd"]) > min_usd:
                    out.append(trade)
                    if len(out) == MAX_TRADES:
                        break
            hour -= 1
        return out

    def so_far(self, pool: Pool, minute: int, now: int) -> tuple[int, float, float, float, float]:
        """Trades of ``minute`` made by ``now``: count, USD volume, last, highest, lowest price
        (the open candle of the OHLCV endpoint is built from these, so both agree)."""
        batch = self._hour(pool, minute // 60)
        start = minute * 60
        picks = np.flatnonzero((batch.ts >= start) & (batch.ts < start + 60) & (batch.ts <= now))
        if not picks.size:
            return 0, 0.0, 0.0, 0.0, 0.0
        prices = batch.price[picks]
        return (
            int(picks.size),
            float(batch.usd[picks].sum()),
            float(prices[-1]),
            float(prices.max()),
            float(prices.min()),
        )

    def count(self, pool: Pool, start: int, end: int, min_usd: float = 0.0) -> int:
        """How many trades happen in ``[start, end)`` above ``min_usd``, seen or not."""
        total = 0
        for hour in range(start // 3600, -(-end // 3600)):
            batch = self._hour(pool, hour)
            total += int(
                np.count_nonzero((batch.ts >= start) & (batch.ts < end) & (batch.usd > min_usd))
            )
        return total

    def _render(self, pool: Pool, b: HourTrades, i: int, hour: int, network: str) -> dict:
        ts = int(b.ts[i])
        usd = float(b.usd[i])
        base_usd = float(b.price[i])
        sol_usd = float(sol_price(ts))
        base_in_sol = sig_decimal(base_usd / sol_usd, 15)
        sol_amount = amount(usd / sol_usd, 9)
        base_amount = amount(usd / base_usd, pool.base.decimals)
        if b.buy[i]:
            side, frm, to = (
                "buy",
                (WSOL, sol_amount, "1.0", sol_usd),
                (pool.base.address, base_amount, base_in_sol, base_usd),
            )
        else:
            side, frm, to = (
                "sell",
                (pool.base.address, base_amount, base_in_sol, base_usd),
                (WSOL, sol_amount, "1.0", sol_usd),
            )
        price_from_usd = long_decimal(frm[3])
        volume = _WIDE.multiply(Decimal(frm[1]), Decimal(price_from_usd))
        slot = SLOT0 + (ts - SLOT_T0) * 5 // 2 + int(b.slot_jitter[i])
        tx = signature(self.model.seed, pool.address, "tx", hour, i)
        return {
            "id": f"{network}_{slot}_{tx}_{int(b.index[i])}_{ts + int(b.delay[i])}",
            "type": "trade",
            "attributes": {
                "block_number": slot,
                "tx_hash": tx,
                "tx_from_address": wallet(
                    self.model.seed, pool.address, "wallet", int(b.wallet[i])
                ),
                "from_token_amount": frm[1],
                "to_token_amount": to[1],
                "price_from_in_currency_token": frm[2],
                "price_to_in_currency_token": to[2],
                "price_from_in_usd": price_from_usd,
                "price_to_in_usd": long_decimal(to[3]),
                "block_timestamp": iso(ts),
                "kind": side,
                "volume_in_usd": format(volume, "f"),
                "from_token_address": frm[0],
                "to_token_address": to[0],
            },
        }

    def clear(self) -> None:
        self._hours.clear()
        self._rendered.clear()
