"""Rate limiting, fault injection, control endpoints, stats, determinism and the server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from simulator import FAULT_KINDS, Simulator
from simulator.faults import FaultBook
from tests.ports import first_answer, free_port, server
from tests.simulator_fixture import SIMULATOR_NOW

DEXES = "networks/solana/dexes"


def test_rate_limit_answers_429_with_retry_after(simulator_factory):
    running = simulator_factory(rate_per_min=5)
    codes = [httpx.get(f"{running.base_url}/{DEXES}").status_code for _ in range(5)]
    assert codes == [200] * 5
    limited = httpx.get(f"{running.base_url}/{DEXES}")
    assert limited.status_code == 429
    assert limited.json() == {"errors": [{"status": "429", "title": "Rate Limited"}]}
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    other = httpx.get(f"{running.base_url}/{DEXES}", headers={"X-Forwarded-For": "10.0.0.9"})
    assert other.status_code == 200
    assert httpx.get(f"{running.sim_url}/__sim__/stats").status_code == 200
    stats = running.stats()
    assert stats["rate_limited"] == 1 and stats["status_429"] == 1
    assert stats["total"] == 7 and stats["peak_rate_60s"] == 7 and stats["peak_admitted_60s"] == 6
    assert stats["by_client"] == {"127.0.0.1": 6, "10.0.0.9": 1}
    running.control("config", {"rate_per_min": 0})
    assert httpx.get(f"{running.base_url}/{DEXES}").status_code == 200


@pytest.mark.parametrize(
    ("kind", "status", "check"),
    [
        ("500", 500, lambda r: r.json()["errors"][0]["status"] == "500"),
        ("429", 429, lambda r: r.headers["retry-after"] == "30" and r.json()["errors"]),
        ("429_retry_after_0", 429, lambda r: r.headers["retry-after"] == "0"),
        ("throttle_200", 200, lambda r: "data" not in r.json() and r.json()["errors"]),
        ("coingecko_429", 429, lambda r: r.json()["status"]["error_code"] == 429),
    ],
)
def test_error_faults_have_the_documented_shapes(simulator, kind, status, check):
    simulator.control("faults", {"kind": kind, "count": 1, "path_contains": "dexes"})
    first = httpx.get(f"{simulator.base_url}/{DEXES}")
    assert first.status_code == status and check(first)
    assert httpx.get(f"{simulator.base_url}/{DEXES}").status_code == 200
    assert simulator.stats()["faults_by_kind"] == {kind: 1}


def test_stall_and_broken_body_faults(simulator):
    url = f"{simulator.base_url}/{DEXES}"
    simulator.add_fault("slow", delay=0.3)
    started = time.perf_counter()
    assert httpx.get(url).status_code == 200 and time.perf_counter() - started >= 0.3
    simulator.add_fault("timeout", delay=1.0)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(url, timeout=0.3)
    simulator.add_fault("truncated")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url)
    simulator.add_fault("bad_json")
    broken = httpx.get(url)
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        broken.json()
    assert simulator.stats()["faults_served"] == 4


def test_faults_match_path_and_count(simulator):
    pool = simulator.world()["pools"]["heaven"][0]["address"]
    simulator.add_fault("500", count=2, path_contains="ohlcv")
    assert httpx.get(f"{simulator.base_url}/{DEXES}").status_code == 200
    ohlcv = f"{simulator.base_url}/networks/solana/pools/{pool}/ohlcv/hour"
    assert [httpx.get(ohlcv).status_code for _ in range(3)] == [500, 500, 200]
    bad = httpx.post(f"{simulator.sim_url}/__sim__/faults", json={"kind": "nope"})
    assert bad.status_code == 400 and "unknown fault kind" in bad.json()["error"]


def test_random_fault_rate_is_seeded():
    def rolls(seed: int) -> list[str | None]:
        book = FaultBook(seed, rate=0.5)
        return [(f.kind if (f := book.take("/x")) else None) for _ in range(200)]

    first = rolls(3)
    assert first == rolls(3) and first != rolls(4)
    faulted = [k for k in first if k]
    assert 60 < len(faulted) < 140 and set(faulted) <= set(FAULT_KINDS)


def test_stats_count_kinds_statuses_and_seconds(simulator):
    pool = simulator.world()["pools"]["pumpswap"][0]["address"]
    for path in (
        DEXES,
        f"networks/solana/pools/{pool}",
        f"networks/solana/pools/{pool}/trades",
        "networks/solana/pools/nope",
    ):
        httpx.get(f"{simulator.base_url}/{path}")
    stats = httpx.get(f"{simulator.sim_url}/__sim__/stats").json()
    assert stats["total"] == 4
    assert stats["by_kind"] == {"dexes": 1, "pool": 2, "trades": 1}
    assert stats["by_status"] == {"200": 3, "404": 1}
    assert sum(stats["per_second"].values()) == 4 and stats["peak_rate_60s"] == 4
    simulator.control("reset", {})
    assert simulator.stats()["total"] == 0


def test_clock_and_world_control_endpoints(simulator):
    frozen = simulator.control("clock", {"now": SIMULATOR_NOW})
    assert frozen["now"] == SIMULATOR_NOW and frozen["frozen"]
    assert simulator.control("clock", {"advance": 60})["now"] == SIMULATOR_NOW + 60
    assert simulator.control("clock", {"real": True})["frozen"] is False
    assert simulator.control("config") == {
        "rate_per_min": 0,
        "fault_rate": 0.0,
        "history": "public: 183 days back",
        "call_span_days": 183,
        "limit_counts": "intervals",
        "cache_seconds": 60,
    }
    world = simulator.control("world")
    assert [d["id"] for d in world["dexes"]][:1] == ["raydium"]
    heaven = world["pools"]["heaven"]
    assert len(heaven) == next(d["pools"] for d in world["dexes"] if d["id"] == "heaven")
    assert {"address", "base_token", "quote_token", "name", "pool_created_at"} <= set(heaven[0])
    assert httpx.get(f"{simulator.sim_url}/__sim__/nope").status_code == 404


def _client(sim: Simulator) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=sim), base_url="http://sim/api/v2")


def test_same_seed_same_world_and_data():
    def snapshot(seed: int) -> list:
        sim = Simulator(seed=seed, rate_per_min=0, clock=lambda: SIMULATOR_NOW)
        pool = sim.world.pools_by_dex["heaven"][0].address
        with _client(sim) as client:
            bodies = [
                client.get(path).json()
                for path in (
                    "networks/solana/dexes/heaven/pools?include=base_token,quote_token,dex",
                    f"networks/solana/pools/{pool}/trades",
                    f"networks/solana/tokens/{sim.world.pools[0].base.address}/info",
                )
            ]
            candles = client.get(f"networks/solana/pools/{pool}/ohlcv/minute?limit=500").json()
        return [*bodies, candles["data"]["attributes"], candles["meta"]]

    assert snapshot(11) == snapshot(11)
    assert snapshot(11)[0] != snapshot(12)[0]


def test_concurrent_clients_are_all_answered(simulator):
    pools = [p["address"] for p in simulator.world()["pools"]["pumpswap"][:8]]
    codes: list[int] = []

    def worker(pool: str) -> None:
        with httpx.Client(base_url=simulator.base_url) as client:
            for path in (
                f"networks/solana/pools/{pool}",
                f"networks/solana/pools/{pool}/ohlcv/hour",
                f"networks/solana/pools/{pool}/trades",
                DEXES,
            ):
                codes.append(client.get(path).status_code)

    threads = [threading.Thread(target=worker, args=(p,)) for p in pools]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert codes == [200] * 32
    assert simulator.stats()["total"] == 32


@pytest.mark.slow
def test_management_command_serves_and_stops_on_sigterm():
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    command = [
        sys.executable, "manage.py", "gecko_simulator", "--port", str(port), "--seed", "5",
        "--rate-per-min", "0", "--clock-speed", "60", "--api-key", "K", "--plan", "pro",
    ]  # fmt: skip
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    with server(command, env, **pipes) as proc:
        root = f"http://127.0.0.1:{port}"
        url = f"{root}/api/v2/{DEXES}"
        key = {"x-cg-pro-api-key": "K"}
        up = first_answer(lambda: httpx.get(url, headers=key), proc, 30, "the simulator")
        assert up.status_code == 200, up.text
        assert httpx.get(f"{root}/api/v3/onchain/{DEXES}").status_code == 401
        assert httpx.get(f"{root}/api/v3/key", headers=key).json()["plan"] == "Analyst"
        assert httpx.get(f"{root}/__sim__/clock").json()["speed"] == 60
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0
        assert f"GET /api/v2/{DEXES} -> 200" in err
        assert "pro key required in x-cg-pro-api-key" in err
