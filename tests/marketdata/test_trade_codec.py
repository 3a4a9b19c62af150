"""Trades stored compactly must give back the API's strings exactly (issue 17).

Every address and hash goes through ``encode_address``/``decode_address`` and every trade id
through ``split_trade_id``/``build_trade_id``, string for string. The recorded ``get_trades``
file (300 real Solana trades) is read from the shared reference beside the checkout when it is
there; synthetic rows of the same shapes run everywhere.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import base58
import pytest

from marketdata.trade_codec import (
    TAG_BASE58,
    TAG_HEX,
    TAG_TEXT,
    TradeIdParts,
    build_trade_id,
    decode_address,
    encode_address,
    rebuilds_exactly,
    split_trade_id,
    unix_seconds,
)

from .recorded_trades import block_time as parse_block_time
from .recorded_trades import recorded_rows

ADDRESS_FIELDS = ("tx_hash", "tx_from_address", "from_token_address", "to_token_address")


def _b58(data: bytes) -> str:
    return base58.b58encode(data).decode()


def _synthetic_rows(count: int = 60) -> list[dict[str, str]]:
    """Rows shaped like the API's: 64-byte signatures, 32-byte addresses, some leading zeros."""
    rows = []
    start = datetime(2025, 8, 28, 16, 15, 8, tzinfo=UTC)
    for i in range(count):
        digest = hashlib.sha512(str(i).encode()).digest()
        zeros = b"\0" * (i % 4)
        signature = zeros + digest[len(zeros) :]
        sender = zeros + digest[len(zeros) : 32]
        block_time = start + timedelta(seconds=37 * i)
        network = ("solana", "polygon_pos", "eth")[i % 3]
        if network == "solana":
            tx_hash, frm, to = _b58(signature), _b58(sender), _b58(digest[32:])
        else:
            tx_hash = "0x" + digest[:32].hex()
            frm, to = "0x" + digest[32:52].hex(), "0x" + digest[40:60].hex()
        index, lag = i * 7 % 300, 3 + i % 25
        rows.append(
            {
                "id": f"{network}_{1000 + i}_{tx_hash}_{index}_{int(block_time.timestamp()) + lag}",
                "block_number": str(1000 + i),
                "tx_hash": tx_hash,
                "tx_from_address": _b58(sender)
                if network == "solana"
                else "0x" + sender[:20].hex(),
                "from_token_address": frm,
                "to_token_address": to,
                "block_timestamp": block_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    return rows


def _assert_round_trip(rows: list[dict[str, str]]) -> None:
    for row in rows:
        for field in ADDRESS_FIELDS:
            assert decode_address(encode_address(row[field])) == row[field], (field, row["id"])
        parts = split_trade_id(row["id"])
        assert parts is not None, row["id"]
        assert build_trade_id(parts) == row["id"]
        assert str(parts.block_number) == row["block_number"]
        assert parts.tx_hash == row["tx_hash"]
        block_time = parse_block_time(row["block_timestamp"])
        lag = parts.unix_ts - unix_seconds(block_time)
        rebuilt = TradeIdParts(
            parts.network,
            int(row["block_number"]),
            row["tx_hash"],
            parts.event_index,
            unix_seconds(block_time) + lag,
        )
        assert build_trade_id(rebuilt) == row["id"]
        assert rebuilds_exactly(
            row["id"],
            int(row["block_number"]),
            row["tx_hash"],
            block_time,
            network=parts.network,
            ts_lag=lag,
        )


def test_every_recorded_trade_round_trips():
    rows = recorded_rows()
    assert len(rows) == 300
    _assert_round_trip(rows)


def test_recorded_hashes_and_addresses_are_base58_bytes():
    """Solana signatures decode to 64 bytes and addresses to 32: nothing kept as text."""
    for row in recorded_rows():
        assert encode_address(row["tx_hash"])[0] == TAG_BASE58
        assert len(encode_address(row["tx_hash"])) == 1 + 64
        for field in ADDRESS_FIELDS[1:]:
            assert encode_address(row[field]) == bytes([TAG_BASE58]) + base58.b58decode(row[field])
            assert len(encode_address(row[field])) == 1 + 32


def test_recorded_id_timestamp_is_not_the_block_timestamp():
    """The id's unix ts is 3-27 s after block_timestamp: the lag must be kept beside the index."""
    rows = recorded_rows()
    lags = set()
    for row in rows:
        parts = split_trade_id(row["id"])
        block_time = parse_block_time(row["block_timestamp"])
        lags.add(parts.unix_ts - unix_seconds(block_time))
        assert not rebuilds_exactly(row["id"], int(row["block_number"]), row["tx_hash"], block_time)
    assert min(lags) > 0
    assert max(lags) < 2**15


def test_synthetic_trades_round_trip():
    _assert_round_trip(_synthetic_rows())


def test_leading_ones_are_leading_zero_bytes():
    for text in (
        "1",
        "11",
        "111JEKNVnkbo3jma5nREBBJCDoXFVeKkD56V3xKrvRmWxFG",
        "11111111111111111111111111111111",
    ):
        encoded = encode_address(text)
        assert encoded[0] == TAG_BASE58
        ones = len(text) - len(text.lstrip("1"))
        assert encoded[1 : 1 + ones] == b"\0" * ones
        assert decode_address(encoded) == text
    assert encode_address("11111111111111111111111111111111") == bytes([TAG_BASE58]) + b"\0" * 32


def test_evm_lowercase_hex_is_bytes():
    address = "0x" + "00" * 2 + "ab" * 18
    assert encode_address(address) == bytes([TAG_HEX]) + bytes.fromhex(address[2:])
    assert decode_address(encode_address(address)) == address
    tx_hash = "0x" + hashlib.sha256(b"tx").hexdigest()
    assert len(encode_address(tx_hash)) == 33
    assert decode_address(encode_address("0x")) == "0x"


@pytest.mark.parametrize(
    "text",
    [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",  # EIP-55 checksummed
        "0XABCDEF",  # upper-case prefix
        "0xABCDEF",  # upper-case digits would come back lower-case
        "0xabc",  # odd length
        "",
        "abc ",  # the base58 library strips trailing blanks
        " abc",
        "So1111O",  # O is not base58
        "pump-fun",
        "naïve",
        "0x12_34",
    ],
)
def test_what_would_not_round_trip_is_kept_as_text(text):
    encoded = encode_address(text)
    assert encoded == bytes([TAG_TEXT]) + text.encode()
    assert decode_address(encoded) == text


def test_decode_accepts_memoryview_and_rejects_unknown_tags():
    encoded = encode_address("So11111111111111111111111111111111111111112")
    assert decode_address(memoryview(encoded)) == "So11111111111111111111111111111111111111112"
    with pytest.raises(ValueError):
        decode_address(b"\x7fabc")
    with pytest.raises(ValueError):
        decode_address(b"")


def test_network_with_underscores():
    trade_id = "polygon_pos_51234567_0x" + "ab" * 32 + "_7_1756397712"
    parts = split_trade_id(trade_id)
    assert parts == TradeIdParts("polygon_pos", 51234567, "0x" + "ab" * 32, 7, 1756397712)
    assert build_trade_id(parts) == trade_id
    block_time = datetime.fromtimestamp(1756397712, UTC)
    assert rebuilds_exactly(trade_id, 51234567, "0x" + "ab" * 32, block_time)
    assert rebuilds_exactly(trade_id, 51234567, "0x" + "ab" * 32, block_time, network="polygon_pos")
    assert not rebuilds_exactly(trade_id, 51234567, "0x" + "ab" * 32, block_time, network="pos")


@pytest.mark.parametrize(
    "trade_id",
    [
        "",
        "solana",
        "opaque-id-of-another-shape",
        "solana_1_tx_2",  # a part missing
        "_1_tx_2_3",  # no network
        "solana__tx_2_3",  # empty block number
        "solana_1__2_3",  # empty tx hash
        "solana_01_tx_2_3",  # a leading zero would not come back from an int
        "solana_1_tx_02_3",
        "solana_1_tx_2_03",
        "solana_1_tx_-2_3",
        "solana_1_tx_+2_3",
        "solana_1_tx_2_3 ",
        "solana_1_tx_²_3",  # a digit to str.isdigit, not to int()
        "solana_1_tx_٣_3",  # Arabic-Indic three: int() reads it, str() writes 3
    ],
)
def test_an_id_of_another_shape_is_kept_as_text(trade_id):
    assert split_trade_id(trade_id) is None
    assert not rebuilds_exactly(trade_id, 1, "tx", datetime.fromtimestamp(3, UTC))


def test_rebuild_checks_every_part():
    trade_id = "solana_10_abc_4_1000"
    at = datetime.fromtimestamp(1000, UTC)
    assert rebuilds_exactly(trade_id, 10, "abc", at)
    assert not rebuilds_exactly(trade_id, 11, "abc", at)
    assert not rebuilds_exactly(trade_id, 10, "abd", at)
    assert not rebuilds_exactly(trade_id, 10, "abc", at + timedelta(seconds=1))
    assert rebuilds_exactly(trade_id, 10, "abc", at - timedelta(seconds=5), ts_lag=5)
    assert not rebuilds_exactly(trade_id, 10, "abc", at + timedelta(microseconds=1))


def test_naive_block_timestamp_is_refused():
    with pytest.raises(ValueError):
        unix_seconds(datetime(2025, 8, 28, 16, 15, 8))  # noqa: DTZ001
