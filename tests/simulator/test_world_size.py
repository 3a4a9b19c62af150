"""The world's size: the default world must not shift (every bench and test figure rests on
it), and a larger one keeps the same kinds of pools."""

from __future__ import annotations

import hashlib
import json

from django.core.management import call_command

from simulator import Simulator
from simulator.world import DEX_TABLE, World, build_world, summary

EPOCH = 1_780_000_000 // 3600 * 3600
# sha256 of the seed-42 default world's summary, computed before ``pools`` existed.
DEFAULT_DIGEST = "46fc1fa03be750019dee7267e1cd82876f61d62bb6317228bbb34999d810cd80"


def _digest(world: World) -> str:
    """The summary (addresses, names, rates, ages, quiet spells, oddities) and every pool's exact
    model parameters and tokens."""
    text = json.dumps(summary(world, now=0), sort_keys=True) + repr(world.pools)
    return hashlib.sha256(text.encode()).hexdigest()


def test_default_world_is_unchanged():
    assert _digest(build_world(42, EPOCH)) == DEFAULT_DIGEST


def test_a_small_size_keeps_the_default_world():
    default = build_world(42, EPOCH)
    assert _digest(build_world(42, EPOCH, pools=len(default.pools))) == DEFAULT_DIGEST


def test_a_larger_world_has_the_pools_asked_for():
    world = build_world(42, EPOCH, pools=1200)
    ordinary = [p for p in world.pools if not _odd(p)]
    assert len(ordinary) >= 1200
    assert len(world.pool_by_address) == len(world.pools)
    assert all(p.base.address != p.quote.address for p in world.pools)
    assert _digest(world) == _digest(build_world(42, EPOCH, pools=1200))


def test_a_larger_world_shares_tokens_only_where_pools_graduate():
    world = build_world(42, EPOCH, pools=1200)
    for address, pools in world.pools_by_token.items():
        if address == world.pools[0].quote.address or len(pools) == 1:
            continue
        assert len({id(p.base) for p in pools}) == 1
        assert sorted(p.dex_id for p in pools) == ["pump-fun", "pumpswap"]


def test_a_larger_world_spreads_trade_rates_as_today():
    default, world = build_world(42, EPOCH), build_world(42, EPOCH, pools=1200)

    def busy_share(w: World) -> float:
        return sum(p.trades_per_day >= 50 for p in w.pools) / len(w.pools)

    assert abs(busy_share(world) - busy_share(default)) < 0.05


def test_a_larger_world_keeps_every_kind_of_pool():
    default, world = build_world(42, EPOCH), build_world(42, EPOCH, pools=1200)
    scale = len(world.pools) / len(default.pools)
    assert len(world.quiet_spells) >= len(default.quiet_spells) * int(scale)
    for kind in ("busy_from", "gone_at", "implausible", "windows"):
        assert sum(bool(getattr(p, kind)) for p in world.pools) >= int(scale)
    assert sum(p.created_at > EPOCH for p in world.pools) >= int(scale)
    assert sum(not p.created_known for p in world.pools) >= int(scale)
    assert sum(p.fresh for p in world.pools) >= 2
    assert {d for d, *_ in DEX_TABLE} <= {p.dex_id for p in world.pools} | {"phoenix", "stabble"}


def test_the_simulator_and_its_command_pass_the_size_on(monkeypatch):
    assert len(Simulator(seed=42, epoch=EPOCH).world.pools) == 290
    assert len(Simulator(seed=42, epoch=EPOCH, pools=1200).world.pools) >= 1200
    served = []
    monkeypatch.setattr(
        "simulator.management.commands.gecko_simulator.serve_until_signal",
        lambda sim, host, port: served.append(sim),
    )
    call_command("gecko_simulator", "--pools", "1200", "--epoch", str(EPOCH))
    assert len(served[0].world.pools) >= 1200


def _odd(pool) -> bool:
    return bool(
        not pool.created_known
        or pool.windows
        or pool.busy_from
        or pool.gone_at
        or pool.implausible
        or pool.created_at > EPOCH
    )
