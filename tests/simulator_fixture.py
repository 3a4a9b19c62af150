"""Pytest fixtures serving the GeckoTerminal simulator over real HTTP on 127.0.0.1.

``simulator``          a fresh server per test (seed fixed, rate limit off).
``simulator_session``  one shared server for read-only tests; call ``.reset()`` if you change it.
``simulator_frozen``   one server per test module whose clock is frozen at ``SIMULATOR_NOW``.
``simulator_factory``  start servers with custom arguments (frozen clock, rate limit, faults…).

Each yields a :class:`simulator.RunningSimulator`: ``.base_url`` (ends in
``/api/v2``), ``.onchain_url`` (the same under ``/api/v3/onchain``), ``.sim_url`` (root of
``/__sim__/``), ``.simulator`` (the in-process object), and ``add_fault()``, ``add_hole()``,
``stats()``, ``reset()``, ``world()``, ``control()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from simulator import RunningSimulator, Simulator

SIMULATOR_SEED = 1234
# 2025-09-04T15:33:20Z: a fixed "now" so assertions do not race the wall clock.
SIMULATOR_NOW = 1_757_000_000.0


@pytest.fixture
def simulator_factory() -> Iterator[Callable[..., RunningSimulator]]:
    started: list[RunningSimulator] = []

    def start(**kwargs: object) -> RunningSimulator:
        kwargs.setdefault("seed", SIMULATOR_SEED)
        kwargs.setdefault("rate_per_min", 0)
        running = RunningSimulator(Simulator(**kwargs)).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    with RunningSimulator(Simulator(seed=SIMULATOR_SEED, rate_per_min=0)) as running:
        yield running


@pytest.fixture(scope="session")
def simulator_session() -> Iterator[RunningSimulator]:
    with RunningSimulator(Simulator(seed=SIMULATOR_SEED, rate_per_min=0)) as running:
        yield running


@pytest.fixture(scope="module")
def simulator_frozen() -> Iterator[RunningSimulator]:
    sim = Simulator(seed=SIMULATOR_SEED, rate_per_min=0, clock=lambda: SIMULATOR_NOW)
    with RunningSimulator(sim) as running:
        yield running
