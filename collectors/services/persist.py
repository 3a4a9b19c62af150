"""Turn parsed API records into store rows and write them (through marketdata.store only).

The API's identities are kept straight here: a pool is keyed by its own address, its tokens by
theirs (``base_token_address`` is never used where a pool address belongs).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from collectors.gecko.records import (
    CandleRecord,
    DexRecord,
    PoolPage,
    PoolRecord,
    TokenInfoRecord,
    TokenRecord,
    TradeRecord,
)
from marketdata import store
from marketdata.models import Dex, Network, Pool, Token
from marketdata.upsert import UpsertResult

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SavedPools:
    pool_ids: dict[str, int]
    written: int


def save_dexes(network: Network, dexes: Iterable[DexRecord], seen_at: datetime) -> UpsertResult:
    rows = [
        {"network_id": network.pk, "slug": d.slug, "name": d.name, "last_seen_at": seen_at}
        for d in dexes
    ]
    return store.upsert_dexes(rows)


def _token_identity(network: Network, token: TokenRecord | TokenInfoRecord) -> dict:
    """The columns every token answer carries; optional ones only when the answer has them."""
    row = {
        "network_id": network.pk,
        "address": token.address,
        "symbol": token.symbol or "",
        "name": token.name or "",
    }
    if token.decimals is not None:
        row["decimals"] = token.decimals
    if token.image_url:
        row["image_url"] = token.image_url
    return row


def _token_row(network: Network, token: TokenRecord) -> dict:
    row = {
        **_token_identity(network, token),
        "decimals": token.decimals,
        "image_url": token.image_url or "",
        "coingecko_coin_id": token.coingecko_coin_id or "",
    }
    for money in ("total_supply", "price_usd", "fdv_usd"):
        value = getattr(token, money)
        if value is not None:
            row[money] = value
    return row


def save_tokens(network: Network, tokens: Iterable[TokenRecord]) -> UpsertResult:
    """Upsert tokens; rows with and without market fields are written in separate batches so
    an ``included`` token (no market data) never wipes the prices of a full token record."""
    batches: dict[tuple[str, ...], list[dict]] = {}
    for token in tokens:
        row = _token_row(network, token)
        batches.setdefault(tuple(row), []).append(row)
    result = UpsertResult()
    for rows in batches.values():
        result += store.upsert_tokens(rows)
    return result


def save_token_info(network: Network, info: TokenInfoRecord) -> UpsertResult:
    return store.upsert_tokens([{**_token_identity(network, info), "info": info.extra}])


def _dex_ids(network: Network, slugs: set[str], names: dict[str, DexRecord]) -> dict[str, int]:
    known = dict(Dex.objects.filter(network=network, slug__in=slugs).values_list("slug", "pk"))
    missing = slugs - known.keys()
    if missing:
        store.upsert_dexes(
            {"network_id": network.pk, "slug": s, "name": names[s].name if s in names else ""}
            for s in missing
        )
        known = dict(Dex.objects.filter(network=network, slug__in=slugs).values_list("slug", "pk"))
    return known


def _pool_row(network: Network, pool: PoolRecord, ids: dict, seen_at: datetime) -> dict:
    h24 = pool.transactions.get("h24")
    return {
        "network_id": network.pk,
        "address": pool.address,
        "name": pool.name,
        "dex_id": ids["dex"].get(pool.dex_slug),
        "base_token_id": ids["token"].get(pool.base_token_address),
        "quote_token_id": ids["token"].get(pool.quote_token_address),
        "pool_created_at": pool.pool_created_at,
        "base_token_price_usd": pool.base_token_price_usd,
        "quote_token_price_usd": pool.quote_token_price_usd,
        "base_token_price_native": pool.base_token_price_native,
        "quote_token_price_native": pool.quote_token_price_native,
        "reserve_in_usd": pool.reserve_in_usd,
        "volume_usd_h24": pool.volume_usd.get("h24"),
        "fdv_usd": pool.fdv_usd,
        "market_cap_usd": pool.market_cap_usd,
        "price_change_h24": pool.price_change_percentage.get("h24"),
        "transactions_h24_buys": h24.buys if h24 else None,
        "transactions_h24_sells": h24.sells if h24 else None,
        "last_seen_at": seen_at,
    }


# Pool columns copied into each PoolSnapshot (its trend-worthy state at that moment).
SNAPSHOT_FIELDS = (
    "reserve_in_usd",
    "volume_usd_h24",
    "base_token_price_usd",
    "fdv_usd",
    "transactions_h24_buys",
    "transactions_h24_sells",
)


def save_pool_page(
    network: Network, page: PoolPage, seen_at: datetime, *, snapshot: bool = False
) -> SavedPools:
    """Upsert a page's tokens, then its pools (linked to them), then optionally snapshots."""
    written = save_tokens(network, page.tokens.values()).written
    token_addresses = {a for p in page.pools for a in (p.base_token_address, p.quote_token_address)}
    missing = token_addresses - page.tokens.keys()
    if missing:
        # Without include= the answer names tokens it does not describe: keep the link anyway.
        store.upsert_tokens([{"network_id": network.pk, "address": a} for a in missing])
    ids = {
        "dex": _dex_ids(network, {p.dex_slug for p in page.pools}, page.dexes),
        "token": store.ids_by_address(Token, network, token_addresses),
    }
    rows = [_pool_row(network, p, ids, seen_at) for p in page.pools]
    written += store.upsert_pools(rows).written
    pool_ids = store.ids_by_address(Pool, network, [p.address for p in page.pools])
    if snapshot:
        snapshots = [
            {"pool_id": pool_ids[row["address"]], "taken_at": seen_at}
            | {field: row[field] for field in SNAPSHOT_FIELDS}
            for row in rows
        ]
        written += store.append_pool_snapshots(snapshots).inserted
    return SavedPools(pool_ids=pool_ids, written=written)


def candle_rows(
    pool_id: int,
    timeframe: str,
    candles: Iterable[CandleRecord],
    *,
    moving_from: datetime | None,
) -> list[dict]:
    """Rows for the store; a candle opening at or after ``moving_from`` is not final yet."""
    return [
        {
            "pool_id": pool_id,
            "timeframe": timeframe,
            "ts": c.timestamp,
            "open": c.open,
            "high": c.high,
            "low": c.low,
            "close": c.close,
            "volume_usd": c.volume_usd,
            "is_final": moving_from is None or c.timestamp < moving_from,
        }
        for c in candles
    ]


REQUIRED_TRADE_MONEY = ("from_token_amount", "to_token_amount", "volume_usd")


def trade_rows(pool_id: int, trades: Iterable[TradeRecord]) -> list[dict]:
    """Rows for the store. A trade without its amounts or volume is logged and left out."""
    rows = []
    for t in trades:
        absent = [f for f in REQUIRED_TRADE_MONEY if getattr(t, f) is None]
        if absent:
            logger.warning(
                "trade %s skipped: no %s in the API answer", t.trade_id, ", ".join(absent)
            )
            continue
        rows.append(
            {
                "trade_id": t.trade_id,
                "pool_id": pool_id,
                "block_number": t.block_number,
                "block_timestamp": t.block_timestamp,
                "tx_hash": t.tx_hash,
                "tx_from_address": t.tx_from_address or "",
                "side": t.side,
                "from_token_address": t.from_token_address,
                "to_token_address": t.to_token_address,
                "from_token_amount": t.from_token_amount,
                "to_token_amount": t.to_token_amount,
                "price_from_in_currency_token": t.price_from_in_currency_token,
                "price_to_in_currency_token": t.price_to_in_currency_token,
                "price_from_in_usd": t.price_from_in_usd,
                "price_to_in_usd": t.price_to_in_usd,
                "volume_usd": t.volume_usd,
            }
        )
    return rows
