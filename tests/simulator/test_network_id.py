"""A network id containing ``_`` (``polygon_pos``), opt-in: every prefixed id carries it, so a
client that splits ids on ``_`` instead of stripping the known prefix is caught."""

from __future__ import annotations

import httpx
import pytest

from tests.simulator_fixture import SIMULATOR_NOW

NETWORK = "polygon_pos"


@pytest.fixture
def running(simulator_factory):
    return simulator_factory(clock=lambda: SIMULATOR_NOW, network=NETWORK)


def test_every_id_carries_a_network_with_an_underscore(running):
    base = running.base_url
    assert [n["id"] for n in httpx.get(f"{base}/networks").json()["data"]] == [NETWORK]
    pool = max(running.simulator.world.pools, key=lambda p: p.activity).address
    body = httpx.get(f"{base}/networks/{NETWORK}/pools/{pool}").json()["data"]
    assert body["id"] == f"{NETWORK}_{pool}"
    assert body["relationships"]["base_token"]["data"]["id"].startswith(f"{NETWORK}_")
    trades = httpx.get(f"{base}/networks/{NETWORK}/pools/{pool}/trades").json()["data"]
    network, block, tx, index, ts = trades[0]["id"].rsplit("_", 4)
    assert network == NETWORK and block.isdigit() and index.isdigit() and ts.isdigit()
    assert httpx.get(f"{base}/networks/solana/pools/{pool}").status_code == 404


def test_a_network_id_must_be_a_slug(simulator_factory):
    with pytest.raises(ValueError, match="network 'Poly Gon'"):
        simulator_factory(network="Poly Gon")
