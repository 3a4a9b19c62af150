"""How a trade is kept on disk: the API's strings to marketdata.Trade's lean columns and back.

Writers hand store.upsert_trades rows of the API's fields (``trade_id``, ``tx_hash``,
``tx_from_address``, ``from_token_address``, ``to_token_address`` and the rest); this module
turns them into columns, and the model's properties turn the columns back, string for string:

- hashes and addresses as the bytes they encode (marketdata.trade_codec);
- the trade id as its event index and the lag of its ts after ``block_timestamp``; the
  network, block and hash are the pool's and the row's own. An id that would not come back
  exactly is kept whole;
- the token addresses not at all when they are the pool's own tokens the way ``side`` says (a
  buy pays the quote token for the base token). A pool address's tokens never change, so the
  pool keeps them once for all its trades.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.db.models import Q

from .trade_codec import (
    IdColumns,
    decode_address,
    dedupe_key,
    encode_address,
    id_columns,
    rebuild_trade_id,
    split_trade_id,
)

API_FIELDS = ("trade_id", "tx_hash", "tx_from_address", "from_token_address", "to_token_address")
MONEY = (
    "from_token_amount",
    "to_token_amount",
    "price_from_in_currency_token",
    "price_to_in_currency_token",
    "price_from_in_usd",
    "price_to_in_usd",
    "volume_usd",
)
# A trade as the API sends it and every reader shows it (beside its pool), in the API's order.
TRADE_FIELDS = (
    "trade_id",
    "block_number",
    "block_timestamp",
    "tx_hash",
    "tx_from_address",
    "side",
    "from_token_address",
    "to_token_address",
    *MONEY,
)


class PoolTokens(NamedTuple):
    network: str
    base: str | None
    quote: str | None


def decode(value: bytes | memoryview) -> str:
    return decode_address(value)


def pools_of(pool_ids: Iterable[int]) -> dict[int, PoolTokens]:
    from .models import Pool

    rows = Pool.objects.filter(pk__in=set(pool_ids)).values_list(
        "pk", "network__slug", "base_token__address", "quote_token__address"
    )
    return {pk: PoolTokens(network, base, quote) for pk, network, base, quote in rows}


def pools_tokens_by_side(side: str, pool: PoolTokens) -> tuple[str | None, str | None]:
    """(from, to) of a trade of ``pool`` on ``side`` as the pool's own tokens give them."""
    return (pool.quote, pool.base) if side == "buy" else (pool.base, pool.quote)


def encode_rows(
    rows: Iterable[Mapping[str, object]], pools: Mapping[int, PoolTokens] | None = None
) -> list[dict]:
    """Trade columns for rows of the API's fields (``pools``: their pools, else looked up)."""
    rows = list(rows)
    if pools is None:
        pools = pools_of(row["pool_id"] for row in rows)
    out = []
    for row in rows:
        pool = pools[row["pool_id"]]
        columns = {k: v for k, v in row.items() if k not in API_FIELDS}
        tx_hash, sender = row["tx_hash"], row.get("tx_from_address") or ""
        ids = id_columns(
            row["trade_id"], pool.network, row["block_number"], tx_hash, row["block_timestamp"]
        )
        tx = encode_address(tx_hash)
        tokens = (row["from_token_address"], row["to_token_address"])
        own = pools_tokens_by_side(row["side"], pool)
        derived = None not in own and tokens == own
        columns.update(
            event_index=ids.event_index,
            id_lag=ids.id_lag,
            kept_trade_id=ids.kept,
            tx_key=dedupe_key(tx if ids.kept is None else ids.kept.encode()),
            tx=tx,
            tx_from=encode_address(sender),
            from_token=None if derived else encode_address(tokens[0]),
            to_token=None if derived else encode_address(tokens[1]),
        )
        out.append(columns)
    return out


def trade_id(trade) -> str:
    columns = IdColumns(trade.event_index, trade.id_lag, trade.kept_trade_id)
    network = trade.pool.network.slug
    return rebuild_trade_id(
        columns, network, trade.block_number, decode(trade.tx), trade.block_timestamp
    )


def token_addresses(trade) -> tuple[str, str]:
    """(from, to) addresses of ``trade``: its own, or its pool's by side."""
    if trade.from_token is not None and trade.to_token is not None:
        return addresses_of(trade.from_token, trade.to_token, trade.side, None)
    pool = trade.pool
    own = PoolTokens("", pool.base_token.address, pool.quote_token.address)
    return addresses_of(trade.from_token, trade.to_token, trade.side, own)


def addresses_of(from_token, to_token, side: str, pool: PoolTokens | None) -> tuple[str, str]:
    """(from, to) addresses of a trade's columns: its own, or ``pool``'s by side (the pool is
    needed only when the trade has none of its own)."""
    if from_token is not None and to_token is not None:
        return decode(from_token), decode(to_token)
    return pools_tokens_by_side(side, pool)


ID_LAG_SEARCHED = timedelta(hours=1)  # a trade id's ts is seconds after its block's time


def matching(term: str) -> Q:
    """Trades whose trade id or tx hash is ``term`` (the admin's search). A trade id is looked
    up in the hour before its ts, by each pool of its network, so the unique key's index serves
    it; a bare tx hash has no index of its own."""
    found = Q(kept_trade_id=term) | Q(tx=encode_address(term))
    parts = split_trade_id(term)
    if parts is not None:
        ts = datetime.fromtimestamp(parts.unix_ts, UTC)
        found |= Q(
            pool__network__slug=parts.network,
            block_timestamp__range=(ts - ID_LAG_SEARCHED, ts),
            block_number=parts.block_number,
            event_index=parts.event_index,
            tx=encode_address(parts.tx_hash),
        )
    return found


def trade_ids(trades) -> list[str]:
    """The API's ids of a Trade queryset, as sent (one query)."""
    return [t.trade_id for t in trades.select_related("pool__network")]
