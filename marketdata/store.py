"""The only way collectors write market data: idempotent bulk upserts on natural keys.

Rows are plain dicts keyed by model attnames (``pool_id``, not ``pool``), so this module knows
nothing about the API. Running any call twice with the same rows changes nothing and reports
``inserted=0, updated=0`` the second time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .models import Candle, Dex, Gap, Network, Pool, PoolSnapshot, Token, Trade
from .upsert import UpsertResult, upsert

Row = Mapping[str, object]


def get_network(slug: str) -> Network:
    """The Network row for ``slug``, created on first use."""
    network, _ = Network.objects.get_or_create(slug=slug)
    return network


def upsert_dexes(rows: Iterable[Row]) -> UpsertResult:
    """Keyed on (network, slug). ``is_target`` is an operator's choice and is never overwritten."""
    return upsert(Dex, rows, unique=("network_id", "slug"))


def upsert_tokens(rows: Iterable[Row]) -> UpsertResult:
    """Keyed on (network, address); only the columns given are refreshed."""
    return upsert(Token, rows, unique=("network_id", "address"))


def upsert_pools(rows: Iterable[Row]) -> UpsertResult:
    """Keyed on (network, address); only the columns given are refreshed."""
    return upsert(Pool, rows, unique=("network_id", "address"))


def append_pool_snapshots(rows: Iterable[Row]) -> UpsertResult:
    """One snapshot per (pool, taken_at); a repeated observation is ignored, never rewritten."""
    return upsert(PoolSnapshot, rows, unique=("pool_id", "taken_at"), update=())


def upsert_candles(rows: Iterable[Row]) -> UpsertResult:
    """Keyed on (pool, timeframe, ts). A bar still moving is rewritten until it is final.

    ``fetched_at`` is bookkeeping and does not count as a change.
    """
    rows = list(rows)
    if not rows:
        return UpsertResult()
    values = [c for c in rows[0] if c not in ("pool_id", "timeframe", "ts", "fetched_at")]
    return upsert(Candle, rows, unique=("pool_id", "timeframe", "ts"), update=values)


def upsert_trades(rows: Iterable[Row]) -> UpsertResult:
    """Keyed on the API's trade id. A trade never changes, so a repeat is ignored."""
    return upsert(Trade, rows, unique=("trade_id",), update=())


def upsert_gaps(rows: Iterable[Row]) -> UpsertResult:
    """Keyed on (pool, timeframe, start); a re-detected gap refreshes its end and reason."""
    return upsert(Gap, rows, unique=("pool_id", "timeframe", "start"))


def ids_by_address(model: type[Token] | type[Pool], network: Network, addresses: Iterable[str]):
    """Map address → primary key for tokens or pools of ``network``."""
    return dict(
        model.objects.filter(network=network, address__in=set(addresses)).values_list(
            "address", "pk"
        )
    )
