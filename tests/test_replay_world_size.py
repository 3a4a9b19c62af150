"""A set-up's world: large enough for its watchlist, and the same one for the driver and the
audit's ground truth."""

from __future__ import annotations

from bench.month.audit import _truth_client
from bench.month.driver import Run, choose_pools
from bench.month.setups import SETUPS, START
from simulator import Simulator

EPOCH = int(START.timestamp())


def test_a_set_up_sizes_its_world_for_its_watchlist():
    assert SETUPS["demo"].world_pools == 290
    assert SETUPS["pro"].world_pools == 290
    assert SETUPS["free"].world_pools == 1200


def test_the_free_watchlist_fits_and_the_audit_sees_the_same_world():
    setup = SETUPS["free"]
    sim = Simulator(seed=setup.seed, rate_per_min=0, epoch=EPOCH, pools=setup.world_pools)
    chosen = choose_pools(sim, setup.pools, setup.seed)
    assert len(set(chosen)) == setup.pools
    run = Run(setup, sim, start=EPOCH)
    with _truth_client(run) as client:
        truth = client._transport.app.world
    assert [p.address for p in truth.pools] == [p.address for p in sim.world.pools]
