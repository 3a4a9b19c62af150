"""``manage.py collect all --sync`` piped: each step's line is written when the step ends, not
all of them when the command ends."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from collectors.models import CollectorConfig
from marketdata.models import Candle
from tests.celery_worker import _env
from tests.command_output import LineReader, piped
from tests.marketdata.factories import dex

pytestmark = pytest.mark.django_db(transaction=True)
HEADER = "tokenSymbol,tokenName,chain,dex,poolAddress,networkAddress\n"


@pytest.fixture
def csv(simulator, redis_client, tmp_path):
    dex("pumpswap", is_target=True)
    config = CollectorConfig.current()
    config.ohlcv_pages_per_fetch = 1
    config.save()
    (pool,) = simulator.world()["pools"]["pumpswap"][:1]
    path = tmp_path / "watchlist.csv"
    path.write_text(HEADER + f"T,Token,SOL,PumpSwap,{pool['address']},{pool['base_token']}\n")
    return str(path)


def test_each_step_line_is_out_when_the_step_ends(simulator, csv):
    env = _env(simulator.base_url)
    env.pop("LOG_LEVEL", None)
    with transaction.atomic(), connection.cursor() as cursor:
        # The ohlcv step waits on this lock: the steps before it must have said so already.
        cursor.execute(f"LOCK TABLE {Candle._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        process = piped("collect", "all", "--sync", "--csv", csv, env=env)
        reader = LineReader(process.stdout)
        early = [reader.next(timeout=30) for _ in range(4)]
        waiting = process.poll() is None
    later = reader.rest(timeout=120)
    err = process.stderr.read().decode()
    process.wait(timeout=30)

    assert process.returncode == 0, err
    assert waiting
    assert [line and line.text.split(":")[0] for line in early] == [
        "API",
        "dexes",
        "top_pools",
        "watchlist",
    ], err
    steps = [line.text.split(":")[0] for line in later if not line.text.startswith("  ")]
    assert steps == ["ohlcv", "trades", "gaps"]
    assert "HTTP Request" not in err


def test_the_ohlcv_step_says_each_timeframe_as_it_is_done(simulator, csv):
    """A minute or two of OHLCV calls at the bucket's pace must not pass in silence."""
    config = CollectorConfig.current()
    config.ohlcv_timeframes = ["1m", "5m"]
    config.save()
    env = _env(simulator.base_url)
    env.pop("LOG_LEVEL", None)
    linked = piped("collect", "watchlist", "--sync", "--csv", csv, env=env)
    assert linked.wait(timeout=120) == 0, linked.stderr.read().decode()

    process = piped("collect", "ohlcv", "--sync", env=env)
    lines = [line.text for line in LineReader(process.stdout).rest(timeout=120)]
    process.wait(timeout=30)

    assert process.returncode == 0, process.stderr.read().decode()
    assert [text.split(":")[0] for text in lines] == ["API", "  ohlcv 1m", "  ohlcv 5m", "ohlcv"]
    assert "1 pools" in lines[1]
