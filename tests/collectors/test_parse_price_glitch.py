"""A candle priced thousands of times off both its neighbours is a glitch, not a market move
(a real move does not reverse within one interval): it is rejected like any implausible
candle, so it is neither stored nor covered and the gap scan asks for it again."""

from __future__ import annotations

from collectors.gecko.parse import parse_ohlcv

T = 1_757_000_000 // 3600 * 3600


def page(closes: list[float]) -> dict:
    """An hourly page, newest first, each candle flat at its close."""
    rows = [[T - i * 3600, c, c * 1.01, c * 0.99, c, 100.0] for i, c in enumerate(closes)]
    return {
        "data": {"id": "x", "type": "ohlcv_request_response", "attributes": {"ohlcv_list": rows}}
    }


def test_a_candle_a_million_times_off_its_neighbours_is_rejected():
    parsed = parse_ohlcv(page([2e-5, 2.1e-5, 21.0, 2.2e-5, 2.3e-5]))
    assert [r.index for r in parsed.rejected] == [2]
    assert "close 21.0 is 9.55e+05x both neighbours" in parsed.rejected[0].problem
    assert parsed.rejected[0].timestamp.timestamp() == T - 2 * 3600
    assert len(parsed.candles) == 4


def test_one_a_million_times_too_low_is_rejected_too():
    parsed = parse_ohlcv(page([3.0, 3.1, 3e-6, 3.2]))
    assert [r.index for r in parsed.rejected] == [2]


def test_a_real_move_is_kept():
    """A 100,000x pump that stays, and a steady climb, have a neighbour that agrees."""
    assert parse_ohlcv(page([5.0, 4.9, 5e-5, 4.8e-5])).rejected == ()
    assert parse_ohlcv(page([1e4, 1e2, 1.0, 1e-2, 1e-4])).rejected == ()


def test_the_newest_and_oldest_candles_are_not_judged_without_two_neighbours():
    assert parse_ohlcv(page([50.0, 5e-5, 5.1e-5])).rejected == ()
    assert parse_ohlcv(page([5e-5, 5.1e-5, 50.0])).rejected == ()
