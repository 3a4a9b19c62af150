"""``manage.py export_qlib`` as a process: piped, the plan comes first (flushed before any
candle is read) and a line per timeframe as each is written; on a terminal those lines stand
whole above the bar."""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction

from marketdata.models import Candle
from tests.celery_worker import _env
from tests.command_output import LineReader, on_terminal, piped, shown_lines
from tests.marketdata import factories

from .conftest import add_candles, bar

pytestmark = pytest.mark.django_db(transaction=True)

A = "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"


@pytest.fixture
def pool():
    p = factories.pool(A)
    add_candles(p, "1h", {i: bar(1.0 + i) for i in range(48)})
    add_candles(p, "1d", {i: bar(2.0 + i) for i in range(3)})
    return p


def export_args(out) -> list[str]:
    return ["export_qlib", "--out", str(out), "--pools", A, "--timeframe", "1d", "1h"]


def test_piped_the_plan_is_out_before_the_export_reads_a_candle(pool, tmp_path):
    env = _env("http://127.0.0.1:9/unused")
    with transaction.atomic(), connection.cursor() as cursor:
        # The export waits on this lock at its first candle read: the plan must be out already.
        cursor.execute(f"LOCK TABLE {Candle._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        process = piped(*export_args(tmp_path / "out"), env=env)
        reader = LineReader(process.stdout)
        plan = reader.next(timeout=60)
        waiting = process.poll() is None
    lines = reader.rest(timeout=60)
    err = process.stderr.read().decode()
    process.wait(timeout=30)

    assert process.returncode == 0, err
    assert plan is not None and waiting, "the plan was written before the export read candles"
    assert plan.text.startswith("Plan: bin export of 1 pools × 2 timeframes (1d 1h)"), plan
    texts = [line.text for line in lines]
    assert re.fullmatch(r"  1/2 day: 1 instruments, 3 rows", texts[0]), texts
    assert re.fullmatch(r"  2/2 60min: 1 instruments, 48 rows", texts[1]), texts
    assert texts[2].startswith("Exported bin to "), texts


def test_on_a_terminal_the_timeframe_lines_stand_whole(pool, tmp_path):
    written = on_terminal(*export_args(tmp_path / "out"), env=_env("http://127.0.0.1:9/unused"))

    shown = shown_lines(written)
    assert "  1/2 day: 1 instruments, 3 rows" in shown, shown
    assert "  2/2 60min: 1 instruments, 48 rows" in shown, shown
    assert any(line.startswith("Exported bin to ") for line in shown), shown
