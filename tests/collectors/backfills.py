"""``manage.py backfill_ohlcv`` run in process, and the OHLCV calls the simulator has answered."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command


def backfill(*args: str) -> str:
    """Run the command without its progress bar; what it wrote to stdout."""
    out = StringIO()
    call_command("backfill_ohlcv", *args, "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


def ohlcv_calls(simulator) -> int:
    return simulator.stats()["by_kind"].get("ohlcv", 0)
