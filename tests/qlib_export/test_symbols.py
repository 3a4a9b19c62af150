"""Symbols: unique under QLib's lower-casing, stable, reversible, and mapped back to pools."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from qlib_export.symbols import address_for, qlib_name, symbol_for
from tests.marketdata import factories

from .conftest import add_candles, bar, load_with_qlib

LOWER = "7bqjg2zdmkbekgsmfuqnvbvqevwavgl8ueo33zqdl3np"
MIXED = "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"


def test_addresses_differing_only_in_case_get_different_symbols():
    assert symbol_for(MIXED) != symbol_for(MIXED.lower())
    assert symbol_for(MIXED).lower() == symbol_for(MIXED)
    assert symbol_for(MIXED.lower()) == f"{LOWER}_0"


def test_the_address_comes_back_from_the_symbol_in_either_case():
    for address in (
        MIXED,
        MIXED.lower(),
        MIXED.upper(),
        "So11111111111111111111111111111111111111112",
    ):
        assert address_for(symbol_for(address)) == address
        assert address_for(qlib_name(symbol_for(address))) == address


def test_a_symbol_depends_on_nothing_but_its_address():
    assert symbol_for(MIXED) == "7bqjg2zdmkbekgsmfuqnvbvqevwavgl8ueo33zqdl3np_d4d2jgiqo"


def test_an_address_with_unsafe_characters_is_refused():
    with pytest.raises(ValueError, match="unsafe"):
        symbol_for("abc/../def")


@pytest.mark.django_db
def test_pools_differing_only_in_case_come_back_from_qlib_as_two_instruments(export, tmp_path):
    upper = factories.pool(MIXED, name="Mixed / SOL")
    lower = factories.pool(MIXED.lower(), name="lower / SOL")
    add_candles(upper, "1h", {i: bar(10.0 + i) for i in range(6)})
    add_candles(lower, "1h", {i: bar(500.0 + i) for i in range(2, 9)})

    export("--out", str(tmp_path / "q"), "--pools", MIXED, MIXED.lower(), "--timeframe", "1h")

    loaded = load_with_qlib(tmp_path / "q" / "60min", "60min")
    up, low = qlib_name(symbol_for(MIXED)), qlib_name(symbol_for(MIXED.lower()))
    assert sorted(loaded["features"]) == sorted([up, low])
    np.testing.assert_array_equal(
        np.array(loaded["features"][up]["$close"], dtype=np.float32),
        np.array([bar(10.0 + i)[3] for i in range(6)], dtype=np.float32),
    )
    np.testing.assert_array_equal(
        np.array(loaded["features"][low]["$close"], dtype=np.float32),
        np.array([bar(500.0 + i)[3] for i in range(2, 9)], dtype=np.float32),
    )
    dirs = sorted(p.name for p in (tmp_path / "q" / "60min" / "features").iterdir())
    assert dirs == sorted([symbol_for(MIXED), symbol_for(MIXED.lower())])


@pytest.mark.django_db
def test_the_mapping_file_names_each_symbols_pool(export, tmp_path):
    base = factories.token("BaseMint1111111111111111111111111111111111", symbol="BONK")
    quote = factories.token("So11111111111111111111111111111111111111112", symbol="SOL")
    pool = factories.pool(
        MIXED, name="BONK / SOL", dex=factories.dex("raydium"), base_token=base, quote_token=quote
    )
    add_candles(pool, "1d", {0: bar(1.0)})

    export("--out", str(tmp_path / "q"), "--pools", MIXED, "--timeframe", "1d")

    with (tmp_path / "q" / "day" / "symbols.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [
        {
            "symbol": qlib_name(symbol_for(MIXED)),
            "network": "solana",
            "pool_address": MIXED,
            "pool_name": "BONK / SOL",
            "dex": "raydium",
            "base_token": "BONK",
            "base_token_address": "BaseMint1111111111111111111111111111111111",
            "quote_token": "SOL",
            "quote_token_address": "So11111111111111111111111111111111111111112",
        }
    ]
    all_txt = (tmp_path / "q" / "day" / "instruments" / "all.txt").read_text()
    assert all_txt == f"{rows[0]['symbol']}\t2025-08-20\t2025-08-20\n"
