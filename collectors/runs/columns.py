"""How a CollectionRun reads in the admin's list, which must fit a 1,400 px screen.

A row says what the run was for (the pool and timeframe of a fetch_ohlcv, the pool of a gap's
backfill), its status as one word, when it started with how long it took and the worker's short
name, its calls with their failures and throttles, and the detail's first line; the long texts
are on hover (``title``) and on the run's page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils.html import format_html, format_html_join

from collectors.models import CollectionRun
from marketdata.admin import pool_label
from marketdata.display import short_address, utc
from marketdata.models import Gap, Pool

DETAIL_CHARS = 90  # the first line's share of the list; the whole text is on hover
WARNING_CHARS = 300  # a warning's rejected rows, each with its reason
PATH = re.compile(r"/\S*/([^/\s]+)")  # /srv/gecko/watchlist.csv -> watchlist.csv
TITLE_CHARS = 2000
HOST_CHARS = 11
UNIT_CHARS = 32
FAULTS_LINE = "failed API call"  # collectors.runs.tracking writes it on a run that met API faults


def label_units(runs: Iterable[CollectionRun]) -> None:
    """Set ``run.unit`` on a page of runs: what each was for, in two queries for the page."""
    runs = list(runs)
    gap_ids = {_int(run.arguments.get("gap_id")) for run in runs} - {None}
    gaps = {
        pk: (pool_id, timeframe)
        for pk, pool_id, timeframe in Gap.objects.filter(pk__in=gap_ids).values_list(
            "pk", "pool_id", "timeframe"
        )
    }
    units = {}
    for run in runs:
        pool_id, timeframe = _int(run.arguments.get("pool_id")), run.arguments.get("timeframe")
        gap = gaps.get(_int(run.arguments.get("gap_id")))
        if gap is not None:
            pool_id, timeframe = gap
        units[run.pk] = (pool_id, timeframe)
    pool_ids = {pool_id for pool_id, _ in units.values()} - {None}
    pools = {p.pk: p for p in Pool.objects.filter(pk__in=pool_ids).only("name", "address")}
    for run in runs:
        pool_id, timeframe = units[run.pk]
        if pool_id is not None:
            pool = pools.get(pool_id)
            name = pool_label(pool) if pool is not None else f"pool {pool_id}"
            run.unit = f"{name} {timeframe}" if timeframe else name
        else:
            run.unit = _arguments_text(run.arguments)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _arguments_text(arguments: dict) -> str:
    """Other tasks' arguments, briefly: ``dex pumpswap``, ``39 pool_ids``, a file's name."""
    parts = []
    for key, value in arguments.items():
        if value in (None, "", []):
            continue
        if isinstance(value, list):
            parts.append(f"{len(value)} {key}")
        elif isinstance(value, str) and len(value) > 20:
            parts.append(value.rsplit("/", 1)[-1] if "/" in value else short_address(value))
        else:
            parts.append(f"{key} {value}")
    return _cut(", ".join(parts), UNIT_CHARS)


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _breakable(text: str, after: str) -> str:
    """``text`` may wrap after each ``after`` (``fetch_pool_<wbr>details``)."""
    return format_html_join(format_html("{}<wbr>", after), "{}", ((p,) for p in text.split(after)))


def task_cell(run: CollectionRun) -> str:
    """The task's short name (it may wrap at ``_``); under it, what it was for."""
    name = _breakable(run.task.rsplit(".", 1)[-1], "_")
    unit = getattr(run, "unit", "")
    if not unit:
        return name
    return format_html('{}<br><span class="quiet">{}</span>', name, unit)


def status_cell(run: CollectionRun) -> str:
    """One word; what it means on hover (the status's long label)."""
    return format_html('<span title="{}">{}</span>', run.get_status_display(), run.status)


def started_cell(run: CollectionRun) -> str:
    """When it started (UTC); under it, how long it took and on which worker."""
    notes = []
    if run.finished_at is not None:
        notes.append(f"took {(run.finished_at - run.started_at).total_seconds():.1f}s")
    if run.worker:
        notes.append(format_html("on {}", _worker(run.worker)))
    lines = format_html_join("", '<br><span class="quiet">{}</span>', ((n,) for n in notes))
    return format_html("{}{}", utc(run.started_at), lines)


def calls_cell(run: CollectionRun) -> str:
    """API calls, and under them how many failed and how many of those were throttled."""
    if not run.errors:
        return f"{run.api_calls:,}"
    throttled = f", {run.throttled:,} throttled" if run.throttled else ""
    return format_html(
        '{}<br><span class="quiet">{} failed{}</span>', f"{run.api_calls:,}", run.errors, throttled
    )


def _worker(worker: str) -> str:
    """``api@`` and the host's first name, cut (``api@gecko-work…``), all of it on hover."""
    name, at, host = worker.rpartition("@")
    host = _cut(host.split(".", 1)[0], HOST_CHARS)
    return format_html('<span title="{}">{}{}<wbr>{}</span>', worker, name, at, host)


def detail_cell(run: CollectionRun) -> str:
    """The summary line, cut, and broken anywhere (URLs); for a run that met API faults, the
    first fault. A warning shows its rejected rows' reasons (what an operator fixes), with a
    file's path as its name. All of it on hover and on the run's page."""
    if not run.detail:
        return ""
    first, *rest = run.detail.splitlines()
    if run.status == CollectionRun.Status.WARNING:
        parts = [PATH.sub(r"\1", first), "; ".join(rest)]
        text = _cut(" — ".join(part for part in parts if part), WARNING_CHARS)
    else:
        faults = [line for line in rest if FAULTS_LINE in line][:1] if run.errors else []
        text = _cut(" — ".join([first, *faults]), DETAIL_CHARS)
    return format_html(
        '<span style="display: inline-block; min-width: 12em; overflow-wrap: anywhere" '
        'title="{}">{}</span>',
        _cut(run.detail, TITLE_CHARS),
        text,
    )
