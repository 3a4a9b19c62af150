"""``manage.py backfill_ohlcv`` as a process: piped, the plan comes first and a line per
(pool × timeframe) as each finishes; on a terminal, log lines pass whole above the bar; httpx's
per-request lines stay off at the default log level."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from marketdata.timeframes import Timeframe
from tests.celery_worker import _env
from tests.command_output import LineReader, on_terminal, piped, shown_lines

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
DAY = 86400
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO collectors\.services\.backfill ")


def backfill_args(pool, days: int, *timeframes: str) -> list[str]:
    until = Timeframe.H1.floor(timezone.now()) - timedelta(hours=1)
    since = until - timedelta(days=days)
    args = ["backfill_ohlcv", "--pool", pool.address, "--timeframe", *timeframes]
    return [*args, "--since", since.isoformat(), "--until", until.isoformat()]


def slow_env(simulator) -> dict[str, str]:
    """The backfill lane at one call a second, the default log level."""
    env = _env(simulator.base_url, GECKO_RATE_LIMIT_PER_MIN="120", GECKO_RATE_LIMIT_BURST="1")
    env.pop("LOG_LEVEL", None)
    return env


def test_piped_the_plan_comes_first_then_a_line_per_unit_as_it_finishes(simulator, busy_pool):
    # 1m over two days is three pages (three seconds), 1h one page.
    process = piped(*backfill_args(busy_pool, 2, "1m", "1h"), env=slow_env(simulator))
    reader = LineReader(process.stdout)

    lines = reader.rest(timeout=60)
    ended = lines[-1].at if lines else 0
    err = process.stderr.read().decode()
    process.wait(timeout=30)

    assert process.returncode == 0, err
    texts = [line.text for line in lines]
    assert texts[0].startswith("API: ") and texts[1].startswith("Plan: 1 pools × 2 timeframes")
    units = [line for line in lines if re.search(r"\b[12]/2 \S+ (1m|1h): ", line.text)]
    assert len(units) == 2, texts
    assert ended - lines[1].at > 2, "the plan is written when made, not at the end"
    assert ended - units[0].at > 0.5, "a finished unit is written when it finishes"
    assert "3 pages" in units[0].text and "candles written" in units[0].text
    assert "backfill " in err and " back to " in err, "INFO lines are on"
    assert "HTTP Request" not in err


def test_on_a_terminal_log_lines_pass_whole_above_the_bar(simulator, busy_pool):
    env = slow_env(simulator)

    written = on_terminal(*backfill_args(busy_pool, 3, "1m"), env=env)

    shown = shown_lines(written)
    assert "HTTP Request" not in written
    assert any("pages" in line and "ETA" in line for line in shown), "the bar was drawn"
    logged = [line for line in shown if "INFO collectors.services.backfill" in line]
    assert len(logged) >= 3, shown
    for line in logged:
        assert LOG_LINE.match(line) and re.search(r" back to \S+$", line), line
    assert any(re.search(r"1/1 \S+ 1m: \d+ pages", line) for line in shown), shown


def test_on_a_terminal_the_interrupt_notice_stands_whole(simulator, busy_pool):
    written = on_terminal(
        *backfill_args(busy_pool, 5, "1m"), env=slow_env(simulator), interrupt_at="2/8 pages"
    )

    shown = shown_lines(written)
    assert "SIGINT: finishing the current page…" in shown, shown
    assert any(line.startswith("Stopped: 1 (pool × timeframe) left") for line in shown), shown
