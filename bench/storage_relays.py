"""Goals of issue 17 that other benches measure, run by bench/storage.py so that it prints a
verdict for every goal: the planner tick at 20,000 pools (bench/capacity.py) and export_qlib of
1,000 pools × a year of 1h, hot and cold mixed (bench/export_archived.py). Each runs in a
process of its own, on a database of its own: neither reads the store's size.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXPORT_POOLS, EXPORT_HOURS, EXPORT_REPEAT = 1000, 8760, 3
PER_ROW = re.compile(r"^(hot|mixed) (bin|csv) +[\d.]+ s +([\d.]+) µs/row", re.M)


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our own bench, no shell)
        [sys.executable, *args], capture_output=True, text=True, check=False, cwd=root
    )


def _failed(what: str, done: subprocess.CompletedProcess) -> str:
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    return f"{what}: the bench failed: {' | '.join(tail)}"


def planner_tick_line(root, ticks: int = 5) -> str:
    """The planner tick's verdict at 20,000 pools, measured by bench/capacity.py in its own
    database (the tick reads no candle or trade, so the store's size does not change it)."""
    done = _run(root, str(root / "bench" / "capacity.py"), "--ticks", str(ticks))
    lines = done.stdout.splitlines()
    whole = [line.strip() for line in lines if "whole tick" in line]
    verdicts = [line.strip() for line in lines if line.strip().startswith("planner tick p95")]
    if done.returncode != 0 or not verdicts:
        return _failed("planner tick at 20,000 pools (bench/capacity.py)", done)
    return f"{verdicts[-1]} (bench/capacity.py: {whole[-1]})"


def per_row(text: str) -> dict[tuple[str, str], float]:
    """µs a row by (hot|mixed, bin|csv) from bench/export_archived.py's output."""
    return {(store, fmt): float(us) for store, fmt, us in PER_ROW.findall(text)}


def export_verdict(full: dict, small: dict, verdict) -> str:
    """The full-size mixed export against today's bench size, all in PostgreSQL, per row."""
    parts, worst = [], 0.0
    for fmt in ("bin", "csv"):
        ratio = full["mixed", fmt] / small["hot", fmt]
        worst = max(worst, ratio)
        parts.append(
            f"{fmt} {full['mixed', fmt]:.2f} µs/row against {small['hot', fmt]:.2f} ({ratio:.2f}×)"
        )
    return (
        f"export_qlib of {EXPORT_POOLS:,} pools × {EXPORT_HOURS:,} h, hot and archived mixed,"
        f" per row (best of {EXPORT_REPEAT}) against bench/export_archived.py's default size"
        " all in PostgreSQL:"
        f" {'; '.join(parts)} (goal: no slower): {verdict(worst, 1.0)}"
    )


def export_line(root: Path, verdict) -> str:
    """Each export's best of three: a single one varied by a fifth between runs (csv 3.07
    against 2.47 µs a row, the small size's 2.87 against 3.99), more than the goal's margin."""
    script = str(root / "bench" / "export_archived.py")
    repeat = ("--repeat", str(EXPORT_REPEAT))
    full = _run(root, script, "--pools", str(EXPORT_POOLS), "--candles", str(EXPORT_HOURS), *repeat)
    small = _run(root, script, *repeat)
    for done in (full, small):
        if done.returncode != 0 or len(per_row(done.stdout)) < 4:
            return _failed("export_qlib at 1,000 pools × a year (bench/export_archived.py)", done)
    return export_verdict(per_row(full.stdout), per_row(small.stdout), verdict)
