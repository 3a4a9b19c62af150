"""A deterministic GeckoTerminal API v2 simulator for development, tests and benchmarks.

Start it with ``python manage.py gecko_simulator --port 8765`` or in-process::

    sim = Simulator(seed=7, rate_per_min=0)          # clock=callable, epoch=int optional
    with RunningSimulator(sim) as running:           # port 0 = a free port
        httpx.get(f"{running.base_url}/networks/solana/dexes")

Control plane (JSON in and out, never rate limited or faulted, not counted in stats):

* ``POST /__sim__/faults`` ``{"kind", "count"=1, "path_contains"?, "delay"?, "retry_after"?}``;
  ``GET`` lists pending rules, ``DELETE`` clears them. Kinds: see ``FAULT_KINDS``.
* ``POST /__sim__/holes`` ``{"pool", "start", "end"}`` drops ``[start, end)`` from candles.
* ``POST /__sim__/clock`` ``{"now": ts}`` freezes, ``{"advance": s}`` shifts, ``{"real": true}``.
* ``POST /__sim__/config`` ``{"rate_per_min"?, "fault_rate"?}``.
* ``POST /__sim__/reset``; ``GET /__sim__/stats``; ``GET /__sim__/world``; ``GET /__sim__/health``.
"""

from __future__ import annotations

from .app import Simulator
from .faults import KINDS as FAULT_KINDS
from .server import RunningSimulator, make_server, serve_until_signal
from .world import WSOL

__all__ = [
    "FAULT_KINDS",
    "WSOL",
    "RunningSimulator",
    "Simulator",
    "make_server",
    "serve_until_signal",
]
