"""The simulator's clock: frozen, shifted, and running faster than real time for benchmarks."""

from __future__ import annotations

import time

import httpx
import pytest

from simulator.clock import SimClock
from tests.simulator_fixture import SIMULATOR_NOW


class FakeTime:
    """A base clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_fast_clock_runs_speed_times_real_time_and_keeps_its_place():
    base = FakeTime(1000.0)
    clock = SimClock(base, speed=60)
    assert clock() == 1000.0
    base.now += 10
    assert clock() == 1600.0
    clock.advance(400)
    assert clock() == 2000.0
    clock.run(2)
    base.now += 10
    assert clock() == 2020.0
    clock.freeze(5000)
    base.now += 10
    assert clock() == 5000.0
    clock.run(60)
    base.now += 1
    assert clock() == 5060.0 and clock.describe()["speed"] == 60
    clock.reset()
    assert clock() == base.now
    base.now += 1
    assert clock() == base.now + 59
    with pytest.raises(ValueError):
        SimClock(base, speed=0)


def test_clock_speed_over_http_moves_what_the_api_serves(simulator_factory):
    base = FakeTime(SIMULATOR_NOW)
    running = simulator_factory(clock=base)
    answer = running.control("clock", {"speed": 60})
    assert answer["speed"] == 60 and answer["frozen"] is False and answer["now"] == SIMULATOR_NOW
    base.now += 60
    assert running.control("clock")["now"] == SIMULATOR_NOW + 3600
    pools = [p for ps in running.world()["pools"].values() for p in ps]
    pool = max(pools, key=lambda p: p["trades_per_day"])["address"]
    url = f"{running.base_url}/networks/solana/pools/{pool}/ohlcv/hour"
    newest = httpx.get(url, params={"limit": 1}).json()["data"]["attributes"]["ohlcv_list"][0]
    assert newest[0] == int(SIMULATOR_NOW + 3600) // 3600 * 3600
    bad = httpx.post(f"{running.sim_url}/__sim__/clock", json={"speed": 0})
    assert bad.status_code == 400 and "speed" in bad.json()["error"]
    assert running.control("reset", {}) == {"ok": True}
    assert running.control("clock")["speed"] == 1


def test_a_simulator_built_fast_runs_fast_on_the_wall_clock(simulator_factory):
    running = simulator_factory(clock_speed=600)
    first = running.control("clock")["now"]
    time.sleep(0.2)
    moved = running.control("clock")["now"] - first
    assert 100 < moved < 600 * 5
