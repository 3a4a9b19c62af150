"""``manage.py audit``: tables or JSON, filters, exit 1 on an inconsistency, 2 on bad options."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from marketdata import store
from marketdata.coverage import record_coverage
from marketdata.models import Gap
from tests.command_output import finished

from .factories import T0, candle_rows, pool
from .test_audit import H

pytestmark = pytest.mark.django_db


@pytest.fixture
def holed():
    """1h candles 0-9 covered as [0, 4) and [6, 9) (the 10th the live edge): a hole [4, 6)."""
    p = pool()
    store.upsert_candles(candle_rows(p.pk, 10, "1h", 3600))
    record_coverage(p.pk, "1h", T0, T0 + 4 * H)
    record_coverage(p.pk, "1h", T0 + 6 * H, T0 + 9 * H)
    return p


def audit(*args: str) -> str:
    out = StringIO()
    call_command("audit", *args, stdout=out)
    return out.getvalue()


def test_a_consistent_store_exits_0_with_a_table_and_a_summary(holed):
    Gap.objects.create(pool=holed, timeframe="1h", start=T0 + 4 * H, end=T0 + 6 * H)

    out = audit()

    assert holed.address in out and "2025-08-20 00:00:00 │ 2025-08-20 09:00:00" in out
    assert "77.8%" in out, "7 of 9 hours covered"
    assert out.strip().endswith(
        "1 series audited: consistent; 0 holes without a gap, 0 candles outside coverage; "
        "0 unfillable gaps, 0 trade windows flagged as possibly lost"
    )


def test_a_hole_without_a_gap_exits_1_naming_it(holed):
    out = StringIO()
    with pytest.raises(CommandError, match="INCONSISTENT in 1 series; 1 holes") as raised:
        call_command("audit", stdout=out)

    assert raised.value.returncode == 1
    assert f"{holed.address} 1h: INCONSISTENT" in out.getvalue()
    assert "1 holes without a gap row: 2025-08-20 04:00:00 → 2025-08-20 06:00:00" in out.getvalue()
    assert "2 candles outside coverage, 2025-08-20 04:00:00 … 2025-08-20 05:00:00" in out.getvalue()


def test_json_for_machines(holed):
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("audit", "--json", stdout=out)

    report = json.loads(out.getvalue())
    assert (report["ok"], report["holes"], report["candles_outside"]) == (False, 1, 2)
    (series,) = report["series"]
    assert series["first_holes"] == [["2025-08-20T04:00:00Z", "2025-08-20T06:00:00Z"]]
    assert (series["timeframe"], series["inconsistent"], series["candles"]) == ("1h", True, 10)


def test_filters_by_pool_address_or_id_and_timeframe(holed):
    clean = pool(address="Clean111111111111111111111111111111111111111")
    store.upsert_candles(candle_rows(clean.pk, 1, "1h", 3600))

    assert clean.address in audit("--pool", clean.address)
    assert holed.address not in audit("--pool", str(clean.pk), "--timeframe", "1h", "trades")
    assert "0 series audited: consistent" in audit("--timeframe", "1d")
    with pytest.raises(CommandError):
        audit("--pool", holed.address)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pool", "NoSuchPool"], "no such pool: NoSuchPool"),
        (["--pool", "99999999"], "no such pool: 99999999"),
        (["--timeframe", "2h"], "unknown timeframe(s) 2h: choose from"),
    ],
)
def test_bad_options_are_named_and_exit_2(args, message):
    with pytest.raises(CommandError) as raised:
        audit(*args)

    assert message in str(raised.value) and raised.value.returncode == 2


@pytest.mark.django_db(transaction=True)
def test_the_process_exits_1_on_an_inconsistency(holed):
    """The exit status itself, as a shell or a cron job sees it."""
    run = finished("audit", "--problems", DATABASE_URL=_url())
    assert run.returncode == 1, run.stderr
    assert "INCONSISTENT in 1 series" in run.stderr and holed.address in run.stdout


def _url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
