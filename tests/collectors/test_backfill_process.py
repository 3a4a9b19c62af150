"""``manage.py backfill_ohlcv`` as real processes: killed, interrupted, run twice at once."""

from __future__ import annotations

import logging
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from collectors.services.backfill import pages_for, unit_lock
from marketdata.coverage import Span, covered_spans
from marketdata.models import Candle
from marketdata.timeframes import Timeframe
from tests.celery_worker import ROOT, _env

from .test_backfill_command import ohlcv_calls, served, stored

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
DAY = 86400


def week() -> tuple[datetime, datetime]:
    until = Timeframe.H1.floor(timezone.now()) - timedelta(hours=1)
    return until - timedelta(days=7), until


def start(simulator, pool, since: datetime, until: datetime) -> subprocess.Popen:
    """The command on the test database; the backfill lane at 2 calls/s, no burst."""
    args = ["--pool", pool.address, "--timeframe", "1m", "--no-progress"]
    args += ["--since", since.isoformat(), "--until", until.isoformat()]
    env = _env(simulator.base_url, GECKO_RATE_LIMIT_PER_MIN="240", GECKO_RATE_LIMIT_BURST="1")
    return subprocess.Popen(
        [sys.executable, "manage.py", "backfill_ohlcv", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_candles(pool, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while Candle.objects.filter(pool=pool).count() < count:
        assert time.monotonic() < deadline, "the backfill made no progress"
        time.sleep(0.05)


def befores(caplog) -> list[int]:
    """The ``before_timestamp`` of every OHLCV request the simulator logged."""
    found = [re.search(r"before_timestamp=(\d+)", r.getMessage()) for r in caplog.records]
    return [int(m.group(1)) for m in found if m]


def test_a_run_killed_midway_resumes_with_only_the_missing_pages(simulator, busy_pool, caplog):
    caplog.set_level(logging.INFO, logger="simulator")
    since, until = week()
    process = start(simulator, busy_pool, since, until)
    wait_for_candles(busy_pool, 2500)
    process.kill()
    process.wait(timeout=10)
    (kept,) = covered_spans(busy_pool.pk, "1m")
    assert kept.end == until and since < kept.start < until - timedelta(hours=30)
    caplog.clear()
    calls = ohlcv_calls(simulator)

    second = start(simulator, busy_pool, since, until)
    out, err = second.communicate(timeout=120)

    assert second.returncode == 0, err
    asked = befores(caplog)
    assert len(asked) == ohlcv_calls(simulator) - calls
    assert asked and max(asked) < kept.start.timestamp(), "nothing stored is asked again"
    assert len(asked) <= pages_for(Span(since, kept.start), "1m")
    assert stored(busy_pool, "1m", since, until) == served(
        simulator, busy_pool.address, "1m", since, until
    )
    (span,) = covered_spans(busy_pool.pk, "1m")
    assert span.start <= since and span.end == until
    assert "candles written" in out


def test_sigint_finishes_the_page_and_says_what_is_left(simulator, busy_pool):
    since, until = week()
    process = start(simulator, busy_pool, since, until)
    wait_for_candles(busy_pool, 1500)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)

    assert process.returncode == 0, err
    assert "SIGINT: finishing the current page" in err
    assert re.search(r"Stopped: 1 \(pool × timeframe\) left, about \d+ pages", out), out
    assert "Run the same command again to resume." in out
    (span,) = covered_spans(busy_pool.pk, "1m")
    assert span.end == until and span.start > since
    count = Candle.objects.filter(pool=busy_pool).count()
    assert count == len(set(Candle.objects.filter(pool=busy_pool).values_list("ts", flat=True)))


def test_a_second_copy_leaves_a_pool_another_is_walking_alone(simulator, busy_pool):
    since, until = week()
    with unit_lock(busy_pool.pk, "1m") as held:  # as a first copy, walking it, would hold
        assert held
        second = start(simulator, busy_pool, since, until)
        out, err = second.communicate(timeout=60)

    assert second.returncode == 0, err
    assert "1 skipped (another backfill holds them)" in out
    assert ohlcv_calls(simulator) == 0 and not Candle.objects.exists()

    third = start(simulator, busy_pool, since, until)
    out, err = third.communicate(timeout=120)

    assert third.returncode == 0, err
    assert ohlcv_calls(simulator) <= pages_for(Span(since, until), "1m")
    assert stored(busy_pool, "1m", since, until) == served(
        simulator, busy_pool.address, "1m", since, until
    )
