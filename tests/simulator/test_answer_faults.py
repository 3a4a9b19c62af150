"""Answers a test can ask for: a resource the API no longer knows (404), and an implausible
candle served the same way every time; neither is ever drawn by the random fault rate."""

from __future__ import annotations

import httpx

from simulator import FAULT_KINDS
from simulator.faults import ANSWER_KINDS


def ohlcv_url(running, address: str) -> str:
    return f"{running.base_url}/networks/solana/pools/{address}/ohlcv/hour?limit=3"


def test_a_404_fault_answers_not_found_for_a_known_pool(simulator):
    address = simulator.world()["pools"]["pumpswap"][0]["address"]
    simulator.add_fault("404", count=2, path_contains=f"{address}/ohlcv")

    answers = [httpx.get(ohlcv_url(simulator, address)) for _ in range(3)]

    assert [a.status_code for a in answers] == [404, 404, 200]
    assert answers[0].json() == {"errors": [{"status": "404", "title": "Not Found"}]}


def test_an_implausible_fault_serves_the_newest_candle_with_high_below_low_each_time(simulator):
    simulator.simulator.clock.freeze(simulator.simulator.clock())
    address = simulator.world()["pools"]["pumpswap"][0]["address"]
    url = ohlcv_url(simulator, address)
    plain = httpx.get(url).json()["data"]["attributes"]["ohlcv_list"]
    simulator.add_fault("implausible", count=2, path_contains=f"{address}/ohlcv")

    served = [httpx.get(url).json()["data"]["attributes"]["ohlcv_list"] for _ in range(2)]

    assert served[0] == served[1], "the same bad candle every time"
    (ts, o, h, low, c, v), *rest = served[0]
    assert h < low and [ts, o, low, c, v] == [plain[0][i] for i in (0, 1, 3, 4, 5)]
    assert rest == plain[1:]


def test_answer_kinds_are_never_random_faults():
    assert not set(ANSWER_KINDS) & set(FAULT_KINDS)
