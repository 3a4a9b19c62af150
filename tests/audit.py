"""``assert_audit_clean()``: the store checked against itself (manage.py audit) at a test's end.

Chaos, kill and restart tests call it last: whatever they broke, every stretch of every stored
series must be proved by coverage or flagged by a gap row, and no candle may lie outside both.
"""

from __future__ import annotations

from marketdata.audit import AuditReport, run_audit


def describe(report: AuditReport) -> str:
    lines = [report.summary()]
    for s in report.inconsistent:
        holes = ", ".join(
            f"[{a:%Y-%m-%d %H:%M:%S}, {b:%Y-%m-%d %H:%M:%S})" for a, b in s.first_holes
        )
        lines.append(
            f"  pool {s.pool_id} {s.pool} {s.timeframe}: coverage {s.covered_from} → "
            f"{s.covered_to} in {s.coverage_ranges} ranges, {s.candles} candles, {s.open_gaps} "
            f"open gaps; {s.holes} holes ({s.hole_seconds:.0f} s) {holes}; {s.candles_outside} "
            f"candles outside coverage ({s.first_outside} … {s.last_outside})"
        )
    return "\n".join(lines)


def assert_audit_clean(**filters) -> AuditReport:
    """Run the audit (``pool_ids=``, ``timeframes=`` as run_audit) and fail naming every
    inconsistent series."""
    report = run_audit(**filters)
    assert report.ok, describe(report)
    return report
