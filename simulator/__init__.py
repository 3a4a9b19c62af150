"""A deterministic GeckoTerminal API v2 stand-in for development, tests and benchmarks.

It imports nothing of the project's other apps and shares no code with the client, so a
misunderstanding of the API cannot hide in both. Start it with
``python manage.py gecko_simulator --port 8765`` or in-process::

    sim = Simulator(seed=7, rate_per_min=0)          # clock=callable, epoch=int optional
    with RunningSimulator(sim) as running:           # port 0 = a free port
        httpx.get(f"{running.base_url}/networks/solana/dexes")

The same resources are served under ``/api/v2/`` and CoinGecko's ``/api/v3/onchain/``.
``Simulator(api_key="k", plan="demo"|"pro")`` requires the key in ``x-cg-demo-api-key`` /
``x-cg-pro-api-key`` (401 otherwise), spends a monthly credit per call and answers
``GET /api/v3/key``. ``clock_speed=60`` runs simulated time 60 times faster than real time.
Like the API's CDN, an answer is served again for the same URL for up to ``cache_seconds=60``
simulated seconds (headers ``CF-Cache-Status``, ``Age``; 0 turns it off), and the newest candle
of every timeframe is still open: it grows with the trades made so far until its interval ends.

OHLCV history (``history.py``): keyless and demo serve six months back from now; a pro key serves
back to September 2021, at most six months back from ``before_timestamp`` per call.
``limit_counts="intervals"`` (default) or ``"candles"``: what ``limit`` counts when empty
intervals are skipped (undocumented, so both readings are on offer).

Control plane (JSON in and out, never rate limited or faulted, not counted in stats):

* ``POST /__sim__/faults`` ``{"kind", "count"=1, "path_contains"?, "delay"?, "retry_after"?}``;
  ``GET`` lists pending rules, ``DELETE`` clears them. Kinds: see ``FAULT_KINDS``, plus
  ``"404"`` and ``"implausible"`` (an OHLCV answer whose newest candle has high < low).
* ``POST /__sim__/holes`` ``{"pool", "start", "end"}`` drops ``[start, end)`` from candles
  (a change of the world through the control plane empties the CDN cache, so it shows at once).
* ``POST /__sim__/quiet`` ``{"pool", "start", "end"}``: no trade in ``[start, end)``, so neither
  candles nor trades (the world's seed gives a few deep pools such a month already).
* ``POST /__sim__/gone`` ``{"pool", "at"?}``: the pool answers 404 from ``at`` (default now).
* ``POST /__sim__/implausible`` ``{"pool", "start", "end", "kind"}``: its candles meeting
  ``[start, end)`` are served wrong; kinds ``high_below_low``, ``negative_volume``,
  ``price_1e6``. ``GET`` on either lists every pool's fate.
* ``Simulator(network="polygon_pos")`` serves the world under a network id containing ``_``.
* The world holds odd pools by seed (DEX ``lifinity_v2``; see ``odd_pools.py``): null
  ``pool_created_at``, h1/h24-only stats, a pool waking to 1,000 trades/h, one created mid-run,
  one disappearing, one with implausible candles. ``/__sim__/world`` names their oddities.
* ``POST /__sim__/clock`` ``{"now": ts}`` freezes, ``{"advance": s}`` shifts, ``{"speed": n}``
  runs from the current instant at n × real time, ``{"real": true}`` returns to wall time.
* ``POST /__sim__/config`` ``{"rate_per_min"?, "fault_rate"?, "cache_seconds"?, "limit_counts"?}``.
* ``GET /__sim__/trade_count?pool=&start=&end=&min_usd=``: trades in ``[start, end)`` above
  ``min_usd``, the ground truth a collector's capture is measured against.
* ``POST /__sim__/reset``; ``GET /__sim__/stats``; ``GET /__sim__/world`` (pools with their
  ``trades_per_day``); ``GET /__sim__/health``.
"""

from __future__ import annotations

from .access import PLANS
from .app import Simulator
from .faults import KINDS as FAULT_KINDS
from .history import LIMIT_COUNTS
from .server import RunningSimulator, make_server, serve_until_signal
from .world import WSOL

__all__ = [
    "FAULT_KINDS",
    "LIMIT_COUNTS",
    "PLANS",
    "WSOL",
    "RunningSimulator",
    "Simulator",
    "make_server",
    "serve_until_signal",
]
