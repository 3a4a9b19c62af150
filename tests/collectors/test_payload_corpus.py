"""Bad API payloads: each gets an error naming the problem, and the good records still count.

Semantics: a candle whose values are well typed but implausible (negative, high < low, not
finite, a millisecond or future timestamp) is rejected on its own, named, and the rest of the
page is kept; its interval is left out of the coverage so the gap scan asks again. A body
whose *shape* is wrong (a string where a number belongs, an HTML page) fails as a whole.
Millisecond timestamps are rejected, not converted: the API documents seconds, and guessing
units would silently shift candles if the guess were wrong.
"""

from __future__ import annotations

import copy
import time
from datetime import timedelta
from typing import Any

import pytest

from collectors.gecko.errors import GeckoError, InvalidJSON, PayloadError
from collectors.gecko.parse import loads, parse_ohlcv, parse_pool_list, parse_token, parse_trades
from collectors.gecko.records import OhlcvPage
from collectors.services.ohlcv import store_page
from marketdata.models import Candle, CandleCoverage
from tests.collectors.test_parse import body

OHLCV = "ohlcv_cbrl_15m.json"


def ohlcv_with(index: int, cell: int | None, value: Any) -> dict:
    doc = copy.deepcopy(body(OHLCV))
    candle = doc["data"]["attributes"]["ohlcv_list"][index]
    if cell is None:
        doc["data"]["attributes"]["ohlcv_list"][index] = value(candle)
    else:
        candle[cell] = value
    return doc


def swap_high_low(c: list) -> list:
    return [c[0], c[1], c[3] / 2, c[3], c[4], c[5]]


NOW = int(time.time())
# (name, candle index, cell (None: whole candle through a function), value, words)
CANDLE_CASES = [
    ("negative volume", 3, 5, -1.5, "negative volume"),
    ("negative price", 3, 1, -0.1, "negative price"),
    ("high below low", 3, None, swap_high_low, "high < low"),
    ("NaN", 3, 2, float("nan"), "not a finite number"),
    ("infinity", 3, 4, float("inf"), "not a finite number"),
    ("milliseconds", 3, 0, 1755753300 * 1000, "looks like milliseconds"),
    ("future", 0, 0, NOW + 86_400, "in the future"),
    ("huge timestamp", 3, 0, 10**30, "out of range"),
    ("negative timestamp", 3, 0, -60, "out of range"),
    ("huge int", 3, 5, 10**400, "not a finite number"),
]


@pytest.mark.parametrize(
    ("index", "cell", "value", "words"),
    [c[1:] for c in CANDLE_CASES],
    ids=[c[0] for c in CANDLE_CASES],
)
def test_an_implausible_candle_is_rejected_alone(index, cell, value, words) -> None:
    page = parse_ohlcv(ohlcv_with(index, cell, value))

    assert len(page.candles) == 9
    [reject] = page.rejected
    assert reject.index == index and words in reject.problem
    assert f"ohlcv_list[{index}]" in str(reject)


@pytest.mark.parametrize(
    ("cell", "value", "words"),
    [
        (1, None, "expected number, got null"),
        (1, "NaN", "expected number, got 'NaN'"),
        (0, 1755753300.0, "integer epoch seconds"),
    ],
    ids=["null", "NaN string", "float timestamp"],
)
def test_a_mistyped_candle_fails_the_page_with_its_cell_named(cell, value, words) -> None:
    with pytest.raises(PayloadError, match=rf"ohlcv_list\[3\]\[{cell}\].*{words}"):
        parse_ohlcv(ohlcv_with(3, cell, value))


def test_an_html_error_page_is_named() -> None:
    html = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
    with pytest.raises(InvalidJSON, match="not valid JSON.*502 Bad Gateway"):
        loads(html, "ohlcv")


def test_unknown_fields_are_ignored() -> None:
    doc = copy.deepcopy(body("pools_multi_solana.json"))
    doc["surprise"] = {"x": 1}
    for item in doc["data"]:
        item["attributes"]["brand_new_metric"] = "42"
        item["relationships"]["new_relation"] = {"data": None}
    assert (
        parse_pool_list(doc, "solana").pools
        == parse_pool_list(body("pools_multi_solana.json"), "solana").pools
    )


@pytest.mark.parametrize(
    ("value", "expected"), [(None, None), ("NaN", None), ("-Infinity", None), ("1e99999", None)]
)
def test_unusable_money_is_no_value(value, expected) -> None:
    doc = copy.deepcopy(body("token_cbrl.json"))
    doc["data"]["attributes"]["price_usd"] = value
    assert parse_token(doc, "solana").price_usd == expected


def test_a_huge_decimal_within_reach_is_kept_exactly() -> None:
    doc = copy.deepcopy(body("token_cbrl.json"))
    doc["data"]["attributes"]["price_usd"] = "9" * 60 + ".5"
    assert str(parse_token(doc, "solana").price_usd) == "9" * 60 + ".5"


@pytest.mark.parametrize(
    ("path", "value"),
    [(("decimals",), 10**30), (("decimals",), -(10**30))],
    ids=["huge", "huge negative"],
)
def test_an_integer_beyond_64_bits_is_named(path, value) -> None:
    doc = copy.deepcopy(body("token_cbrl.json"))
    doc["data"]["attributes"][path[0]] = value
    with pytest.raises(PayloadError, match="attributes.decimals: expected integer within 64 bits"):
        parse_token(doc, "solana")


def test_a_trade_block_number_beyond_64_bits_is_named() -> None:
    doc = copy.deepcopy(body("trades_cbrl.json"))
    doc["data"][1]["attributes"]["block_number"] = 2**70
    with pytest.raises(PayloadError, match=r"data\[1\].attributes.block_number"):
        parse_trades(doc, "solana")


def test_millisecond_trade_timestamps_are_named() -> None:
    doc = copy.deepcopy(body("trades_cbrl.json"))
    doc["data"][0]["attributes"]["block_timestamp"] = 1755756000000
    with pytest.raises(GeckoError, match="block_timestamp"):
        parse_trades(doc, "solana")


@pytest.mark.django_db
def test_a_rejected_candle_is_not_stored_nor_covered_and_the_rest_is() -> None:
    from tests.marketdata.factories import pool

    p = pool()
    doc = ohlcv_with(3, 5, -1.0)
    page: OhlcvPage = parse_ohlcv(doc)
    bad = body(OHLCV)["data"]["attributes"]["ohlcv_list"][3][0]

    result = store_page(p, "15m", page, before=1755756000, limit=10)

    assert result.candles == 9 and result.rejected == 1
    assert not result.ends_history, "a rejected candle is still a candle the page held"
    stamps = {int(c.ts.timestamp()) for c in Candle.objects.filter(pool=p)}
    assert len(stamps) == 9 and bad not in stamps
    spans = [
        (s.start.timestamp(), s.end.timestamp()) for s in CandleCoverage.objects.filter(pool=p)
    ]
    assert spans and not any(start <= bad < end for start, end in spans), spans
    assert min(s for s, _ in spans) == 1755756000 - 9 * 900
    assert max(e for _, e in spans) == 1755756000 + 900


@pytest.mark.django_db
def test_a_rejected_candle_without_a_usable_time_covers_nothing() -> None:
    from tests.marketdata.factories import pool

    p = pool()
    page = parse_ohlcv(ohlcv_with(3, 0, 1755753300 * 1000))

    result = store_page(p, "15m", page, before=1755756000, limit=10)

    assert result.candles == 9 and Candle.objects.filter(pool=p).count() == 9
    assert not CandleCoverage.objects.filter(pool=p).exists()


def test_future_tolerance_allows_the_open_candle() -> None:
    doc = copy.deepcopy(body(OHLCV))
    now = int(time.time()) // 900 * 900
    doc["data"]["attributes"]["ohlcv_list"][0][0] = now + int(timedelta(minutes=2).total_seconds())
    assert parse_ohlcv(doc).rejected == ()


class _OnePage:
    """Serves one parsed page, as GeckoClient.ohlcv would."""

    def __init__(self, page: OhlcvPage) -> None:
        self.page = page

    def ohlcv(self, *args: Any, **kwargs: Any) -> OhlcvPage:
        return self.page


@pytest.mark.django_db
def test_a_fetch_reports_how_many_candles_it_rejected() -> None:
    from collectors.services.ohlcv import _fetch_range
    from tests.marketdata.factories import pool

    page = parse_ohlcv(ohlcv_with(3, 5, -1.0))
    report = _fetch_range(
        _OnePage(page),
        pool(),
        "15m",
        before=1755756000,
        stop_at=None,
        max_pages=1,
        limit=10,
        include_empty=False,
    )

    assert (report.candles, report.rejected) == (9, 1)
