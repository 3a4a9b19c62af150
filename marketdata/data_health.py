"""The admin's "Data health" page: ``manage.py audit``'s report, for staff who may view gaps.

Read-only; it runs the audit on each load (seconds for a thousand pools, see bench/audit.py).
``?timeframe=1m`` narrows it, ``?all=1`` lists every series, not only those with findings.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.urls import reverse

from .audit import SeriesHealth, run_audit
from .display import EMPTY, utc
from .models import Gap
from .timeframes import ALL_TIMEFRAMES

PERMISSION = "marketdata.view_gap"


def data_health(request: HttpRequest) -> TemplateResponse:
    """Login and staff are the admin's (admin_view wraps this); the view permission is ours."""
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    timeframe = request.GET.get("timeframe") or None
    show_all = request.GET.get("all") == "1"
    try:
        report = run_audit(timeframes=[timeframe] if timeframe else None)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    gaps_url = reverse("admin:marketdata_gap_changelist")
    rows = [
        _row(s, gaps_url)
        for s in report.series
        if show_all or s.inconsistent or s.unfillable_gaps or s.open_gaps
    ]
    context = {
        **admin.site.each_context(request),
        "title": "Data health",
        "report": report,
        "rows": rows,
        "trades": [
            {
                "pool": t.pool,
                "url": reverse("admin:marketdata_pool_change", args=[t.pool_id]),
                "gaps_url": f"{gaps_url}?pool__id__exact={t.pool_id}&timeframe__exact={Gap.TRADES}",
                "windows": t.windows,
                "open": t.open_windows,
                "hours": f"{t.seconds / 3600:.2f}",
                "first": utc(t.first_start),
                "last": utc(t.last_end),
                "reasons": t.reasons,
            }
            for t in report.trades
        ],
        "timeframes": [*ALL_TIMEFRAMES, Gap.TRADES],
        "timeframe": timeframe or "",
        "show_all": show_all,
    }
    return TemplateResponse(request, "admin/marketdata/data_health.html", context)


def _row(s: SeriesHealth, gaps_url: str) -> dict:
    span = (s.covered_to - s.covered_from).total_seconds() if s.coverage_ranges else 0
    return {
        "pool": s.pool,
        "url": reverse("admin:marketdata_pool_change", args=[s.pool_id]),
        "gaps_url": f"{gaps_url}?pool__id__exact={s.pool_id}&timeframe__exact={s.timeframe}",
        "timeframe": s.timeframe,
        "history_start": utc(s.history_start),
        "candles": s.candles,
        "covered_from": utc(s.covered_from),
        "covered_to": utc(s.covered_to),
        "share": f"{s.covered_seconds / span:.1%}" if span else EMPTY,
        "holes": s.holes,
        "hole_hours": f"{s.hole_seconds / 3600:.2f}",
        "first_holes": [f"{utc(a)} → {utc(b)}" for a, b in s.first_holes],
        "outside": s.candles_outside,
        "outside_span": f"{utc(s.first_outside)} … {utc(s.last_outside)}",
        "open_gaps": s.open_gaps,
        "unfillable": s.unfillable_gaps,
        "reasons": s.unfillable_reasons,
        "inconsistent": s.inconsistent,
    }
