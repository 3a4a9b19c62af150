"""Issue 16 §1: a command from another shell went to the real API host, retried a DNS failure
for 11 minutes without saying which API it called, and its failed calls appeared nowhere.

A command names its API target first, stops within seconds with one line when the target
cannot be resolved or reached, and records its own calls as a CollectionRun."""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from collectors.models import CollectionRun
from tests.marketdata.factories import dex
from tests.marketdata.factories import pool as make_pool
from tests.ports import free_port as closed_port

pytestmark = pytest.mark.django_db
FAST = 30.0  # seconds: the bound for "fails fast"


# Test ids name the kind, not the URL: a port picked at collection would differ between
# pytest-xdist's runners (which then refuse the run) and could be taken by the time it runs.
UNREACHABLE = ["unresolvable", "refused"]


def unreachable(kind: str) -> tuple[str, str]:
    """The target's URL and a word of the expected message; the closed port is picked now."""
    if kind == "refused":
        return f"http://127.0.0.1:{closed_port()}/api/v2", "refused"
    return "http://nonexistent.invalid/api/v2", "nonexistent.invalid"


@pytest.fixture
def quick(settings, redis_client):
    """Bucket settings that never make a test wait; retries and breaker as shipped."""
    settings.GECKO_RATE_LIMIT_PER_MIN = 6000
    settings.GECKO_RATE_LIMIT_BURST = 50
    return settings


def backfill(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("backfill_ohlcv", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", UNREACHABLE)
def test_backfill_against_an_unreachable_target_stops_at_once_with_one_line(quick, kind):
    url, why = unreachable(kind)
    quick.GECKO_API_URL = url
    pool = make_pool()
    started = time.monotonic()
    with pytest.raises(CommandError) as raised:
        backfill("--pool", pool.address, "--timeframe", "1m", "--days", "1")
    assert time.monotonic() - started < FAST
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"cannot reach the API at {url}: ")
    assert why in message.lower() or "name or service not known" in message.lower()
    run = CollectionRun.objects.get(task="command:backfill_ohlcv")
    assert run.status == CollectionRun.Status.FAILED
    assert run.api_calls == 1 and run.errors == 1
    assert run.detail.splitlines()[0] == f"Unreachable: {message}"
    assert "Traceback" not in run.detail  # the one line says it all: no 60 lines of httpx


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", UNREACHABLE)
def test_collect_sync_against_an_unreachable_target_stops_at_once(quick, kind):
    url, _ = unreachable(kind)
    quick.GECKO_API_URL = url
    out, err = StringIO(), StringIO()
    started = time.monotonic()
    with pytest.raises(CommandError, match=f"^cannot reach the API at {url}: "):
        call_command("collect", "all", "--sync", stdout=out, stderr=err)
    assert time.monotonic() - started < FAST
    assert out.getvalue().splitlines()[0] == f"API: {url}"
    (run,) = CollectionRun.objects.all()
    assert (run.task, run.status, run.api_calls, run.errors) == ("collect.dexes", "failed", 1, 1)


def test_backfill_names_its_target_first_and_records_its_calls(quick, simulator):
    quick.GECKO_API_URL = simulator.base_url
    address = simulator.world()["pools"]["pumpswap"][0]["address"]
    make_pool(address=address)
    out, _ = backfill("--pool", address, "--timeframe", "1h", "--days", "2")
    assert out.splitlines()[0] == f"API: {simulator.base_url}"
    run = CollectionRun.objects.get(task="command:backfill_ohlcv")
    assert run.status == CollectionRun.Status.OK
    assert run.api_calls >= 1 and run.errors == 0
    assert run.items_written > 0
    assert run.arguments["pool"] == [address]
    assert "candles written" in run.detail


def test_a_dry_run_names_its_target_and_records_nothing(quick, simulator):
    quick.GECKO_API_URL = simulator.base_url
    pool = make_pool()
    out, _ = backfill("--pool", pool.address, "--timeframe", "1h", "--days", "2", "--dry-run")
    assert out.splitlines()[0] == f"API: {simulator.base_url}"
    assert not CollectionRun.objects.exists()


def test_collect_sync_names_its_target(quick, simulator):
    quick.GECKO_API_URL = simulator.base_url
    dex("pumpswap", is_target=True)
    out = StringIO()
    call_command("collect", "dexes", "--sync", stdout=out, stderr=StringIO())
    assert out.getvalue().splitlines()[0] == f"API: {simulator.base_url}"
