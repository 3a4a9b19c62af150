"""The demo watchlist that `make run` loads must describe pools of the simulator it starts.

A pool address whose token address disagrees with the simulator's world makes every
`make run` start with a warning and shows new users the very mix-up the project warns about.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from simulator import Simulator
from watchlist.csv_format import parse_watchlist

ROOT = Path(settings.BASE_DIR)


def _procfile_seed() -> int:
    lines = (ROOT / "Procfile").read_text().splitlines()
    line = next(line for line in lines if line.startswith("simulator:"))
    return int(re.search(r"--seed (\d+)", line).group(1))


def test_every_demo_row_names_a_simulator_pool_and_its_own_base_token():
    world = Simulator(seed=_procfile_seed(), rate_per_min=0).world
    parsed = parse_watchlist((ROOT / "fixtures" / "watchlist.csv").read_bytes())
    assert parsed.rows and not parsed.errors
    for row in parsed.rows:
        pool = world.pool_by_address.get(row.pool_address)
        assert pool is not None, f"{row.pool_address} is not a pool of the simulator"
        assert row.token_address == pool.base.address, (
            f"{row.pool_address}: file says token {row.token_address}, "
            f"the simulator says {pool.base.address}"
        )
        assert row.dex.lower() == pool.dex_id
