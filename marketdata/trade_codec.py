"""Compact, exact forms of a trade's hashes, addresses and id (issue 17's lean hot store).

An address or hash is stored as one tag byte followed by its payload:

* ``TAG_TEXT`` (0x00): the string's UTF-8 bytes, for anything the other forms would not give
  back exactly (EIP-55 mixed-case hex, upper-case hex, odd lengths, blanks, empty, slugs);
* ``TAG_BASE58`` (0x01): the bytes a base58 (Bitcoin alphabet: Solana) string encodes, each
  leading ``1`` one leading zero byte: an 88-char signature is 64 bytes, an address 32;
* ``TAG_HEX`` (0x02): the bytes of a ``0x``-prefixed lower-case hex string (EVM).

A form is chosen only if decoding it rebuilds the very same string, so ``decode_address``
always returns what ``encode_address`` was given.

The API's trade id is ``{network}_{block_number}_{tx_hash}_{event_index}_{unix_ts}``. Networks
may contain ``_`` (``polygon_pos``), hashes never do, so it is split from the right; an id is
split only if every number is written as ``str(int)`` writes it, so that ``build_trade_id``
gives it back exactly, and any other id is left for the caller to keep as text. The id's unix
ts is not ``block_timestamp`` (3-27 s later on the recorded trades), hence ``ts_lag``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import NamedTuple

import based58

TAG_TEXT = 0x00
TAG_BASE58 = 0x01
TAG_HEX = 0x02

_HEX_DIGITS = frozenset("0123456789abcdef")


def encode_address(text: str) -> bytes:
    """Tag byte + payload: base58 or hex bytes when they rebuild ``text`` exactly, else UTF-8."""
    if text.startswith("0x"):
        digits = text[2:]
        if len(digits) % 2 == 0 and _HEX_DIGITS.issuperset(digits):
            return bytes([TAG_HEX]) + bytes.fromhex(digits)
    elif text:
        written = text.encode()
        try:
            raw = based58.b58decode(written)
        except ValueError:  # not base58, or not ASCII
            raw = None
        if raw is not None and based58.b58encode(raw) == written:
            return bytes([TAG_BASE58]) + raw
    return bytes([TAG_TEXT]) + text.encode()


def decode_address(data: bytes | memoryview) -> str:
    """The exact string ``encode_address`` was given (a bytea column may come as memoryview)."""
    data = bytes(data)
    if not data:
        raise ValueError("an encoded address has at least its tag byte")
    tag, payload = data[0], data[1:]
    if tag == TAG_BASE58:
        return based58.b58encode(payload).decode("ascii")
    if tag == TAG_HEX:
        return "0x" + payload.hex()
    if tag == TAG_TEXT:
        return payload.decode()
    raise ValueError(f"unknown address tag {tag:#04x}")


class TradeIdParts(NamedTuple):
    network: str
    block_number: int
    tx_hash: str
    event_index: int
    unix_ts: int


def _canonical_int(text: str) -> int | None:
    """The number ``text`` writes only if ``str()`` writes it back the same (no sign, no 0 pad)."""
    if text.isascii() and text.isdigit() and (text == "0" or text[0] != "0"):
        return int(text)
    return None


def split_trade_id(trade_id: str) -> TradeIdParts | None:
    """The id's parts, or None for an id ``build_trade_id`` would not give back exactly."""
    pieces = trade_id.rsplit("_", 4)
    if len(pieces) != 5:
        return None
    network, block, tx_hash, index, ts = pieces
    numbers = [_canonical_int(block), _canonical_int(index), _canonical_int(ts)]
    if not network or not tx_hash or None in numbers:
        return None
    return TradeIdParts(network, numbers[0], tx_hash, numbers[1], numbers[2])


def build_trade_id(parts: TradeIdParts) -> str:
    return (
        f"{parts.network}_{parts.block_number}_{parts.tx_hash}_{parts.event_index}_{parts.unix_ts}"
    )


def unix_seconds(moment: datetime) -> int:
    """Whole epoch seconds of an aware datetime (a naive one would be read as local time)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: its epoch seconds depend on the local time zone")
    if moment.microsecond:
        raise ValueError("not a whole second")
    return int(moment.timestamp())


def rebuilds_exactly(
    trade_id: str,
    block_number: int,
    tx_hash: str,
    block_timestamp: datetime,
    *,
    network: str | None = None,
    ts_lag: int = 0,
) -> bool:
    """Whether the row's own fields, the id's event index and ``ts_lag`` (seconds from
    ``block_timestamp`` to the id's ts) give back ``trade_id`` exactly; ``network`` is checked
    when given (the pool's)."""
    parts = split_trade_id(trade_id)
    if parts is None or block_timestamp.microsecond:
        return False
    rebuilt = TradeIdParts(
        parts.network if network is None else network,
        block_number,
        tx_hash,
        parts.event_index,
        unix_seconds(block_timestamp) + ts_lag,
    )
    return build_trade_id(rebuilt) == trade_id


def dedupe_key(data: bytes) -> int:
    """A signed 64-bit digest standing in for a long value in the trades' unique key.

    The key is (pool, block time, event index, this digest of the encoded tx hash): two trades
    collide only in the same pool, second and event index with equal 64-bit digests of
    different hashes (about 2**-64 for such a pair), and it keeps the index a quarter as wide.
    """
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)


class IdColumns(NamedTuple):
    """How a row keeps its trade id: the event index and ts lag, or the id itself."""

    event_index: int
    id_lag: int
    kept: str | None


KEPT_EVENT_INDEX = -1  # an id kept as text has no event index of its own


def id_columns(
    trade_id: str, network: str, block_number: int, tx_hash: str, block_timestamp: datetime
) -> IdColumns:
    """The columns that give ``trade_id`` back with the row's own fields and its pool's
    network; an id that would not come back exactly is kept whole."""
    parts = split_trade_id(trade_id)
    if parts is not None and not block_timestamp.microsecond:
        lag = parts.unix_ts - unix_seconds(block_timestamp)
        columns = IdColumns(parts.event_index, lag, None)
        # Judged by the very rebuild the readers make.
        if rebuild_trade_id(columns, network, block_number, tx_hash, block_timestamp) == trade_id:
            return columns
    return IdColumns(KEPT_EVENT_INDEX, 0, trade_id)


def rebuild_trade_id(
    columns: IdColumns, network: str, block_number: int, tx_hash: str, block_timestamp: datetime
) -> str:
    if columns.kept is not None:
        return columns.kept
    unix_ts = unix_seconds(block_timestamp) + columns.id_lag
    return build_trade_id(
        TradeIdParts(network, block_number, tx_hash, columns.event_index, unix_ts)
    )
