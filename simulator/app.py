"""The simulator: world + models + control state behind one WSGI callable.

This is the one module that knows every part; ``api``, ``control`` and ``access`` each get only
what they use, so nothing but ``server`` and the package imports this module.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

from .access import MISSING, KeyGate, coingecko_error
from .api import Api, Request
from .candles import CandleEngine
from .clock import SimClock
from .control import handle_control
from .edge import DEFAULT_MAX_AGE, EdgeCache, cache_key
from .fates import Fates
from .faults import Fault, FaultBook, implausible
from .history import HistoryRules
from .holes import HoleBook
from .limits import RateLimiter
from .market import MarketModel
from .metrics import Metrics
from .poolstats import StatsBook
from .quiet import QuietBook
from .responses import COINGECKO_429, RATE_LIMITED, ApiError, Reply, api_headers, error_body
from .routes import Route, resolve
from .trades import TradeBook
from .world import NETWORK, build_world, summary

logger = logging.getLogger("simulator")
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
_KEY_PARAM = re.compile(r"(x_cg_\w+_api_key)=[^&]*")
StartResponse = Callable[..., Any]


def _client(environ: dict) -> str:
    forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
    return forwarded.split(",")[0].strip() or environ.get("REMOTE_ADDR", "?")


def _headers(environ: dict) -> dict[str, str]:
    """Request headers by lower-case name (WSGI spells them ``HTTP_X_CG_DEMO_API_KEY``)."""
    return {k[5:].lower().replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}


def _log(environ: dict, status: int, runtime: float, note: str) -> None:
    """The one INFO line per request (an API key in the query string is masked)."""
    qs = _KEY_PARAM.sub(r"\1=***", environ.get("QUERY_STRING", ""))
    logger.info(
        "%s %s %s%s -> %s %.1fms%s",
        _client(environ),
        environ.get("REQUEST_METHOD", "GET"),
        environ.get("PATH_INFO", ""),
        f"?{qs}" if qs else "",
        status,
        runtime * 1000,
        note,
    )


class Simulator:
    """A deterministic GeckoTerminal stand-in; call it as a WSGI app.

    ``clock`` supplies "now" (defaults to wall time; it is wrapped in a :class:`SimClock`
    that tests can freeze/advance and benchmarks can run ``clock_speed`` times faster).
    ``epoch`` anchors pool ages and defaults to the start of the current hour, so two
    simulators with the same seed started in the same hour agree. With ``api_key`` every API
    request needs that key in the ``plan``'s header (see ``access.py``); ``rate_per_min``
    defaults to the plan's limit (30 keyless) and counts real, not simulated, seconds. A
    ``"pro"`` key serves OHLCV history back to September 2021, six months per call; keyless and
    demo, six months back from now. ``limit_counts`` is what an OHLCV ``limit`` counts when
    empty intervals are skipped, ``"intervals"`` or ``"candles"`` (see ``history.py``).
    ``pools`` above today's 290 scales the world up to at least that many (see ``build_world``).
    """

    def __init__(
        self,
        seed: int = 42,
        rate_per_min: int | None = None,
        fault_rate: float = 0.0,
        clock: Callable[[], float] | None = None,
        epoch: int | None = None,
        *,
        clock_speed: float = 1.0,
        api_key: str | None = None,
        plan: str = "demo",
        monthly_credit: int | None = None,
        limit_counts: str = "intervals",
        cache_seconds: float = DEFAULT_MAX_AGE,
        network: str = NETWORK,
        pools: int | None = None,
    ) -> None:
        if not _SLUG.fullmatch(network):
            raise ValueError(f"network {network!r}: give a slug like solana or polygon_pos")
        self.seed = seed
        self.clock = SimClock(clock, speed=clock_speed)
        self.epoch = epoch if epoch is not None else int(self.clock() // 3600 * 3600)
        self.world = build_world(seed, self.epoch, pools)
        self.world.network = network
        self.gate = KeyGate(api_key, plan, self.clock, monthly_credit)
        self.quiet_book = QuietBook(self.world)
        self.model = MarketModel(self.world, quiet=self.quiet_book)
        self.hole_book = HoleBook()
        self.fates = Fates(self.world)
        self.stats_book = StatsBook(self.model)
        self.trades = TradeBook(self.model)
        paid = self.gate.keyed and plan == "pro"
        rules = HistoryRules(paid=paid, limit_counts=limit_counts)
        self.candles = CandleEngine(self.model, self.hole_book, self.trades, self.fates, rules)
        self.api = Api(
            self.world, self.stats_book, self.candles, self.trades, self.clock, self.fates
        )
        if rate_per_min is None:
            rate_per_min = self.gate.plan.rate_per_min if self.gate.keyed else 30
        self.limiter = RateLimiter(rate_per_min)
        self.faults = FaultBook(seed, fault_rate)
        self.edge = EdgeCache(cache_seconds)
        self.metrics = Metrics()
        self.stopping = threading.Event()

    # --- control ---------------------------------------------------------------------------
    def add_fault(self, kind: str, **rule: Any) -> None:
        """Make the next ``count`` API requests matching ``path_contains`` fail with ``kind``
        (``rule``: the options :meth:`FaultBook.add` takes, which the control plane calls too)."""
        self.faults.add(kind, **rule)

    def add_hole(self, pool: str, start: int, end: int) -> None:
        """Drop ``[start, end)`` from ``pool``'s candle history."""
        if pool not in self.world.pool_by_address:
            raise ValueError(f"unknown pool {pool}")
        self.hole_book.add(pool, start, end)
        self.candles.clear()
        self.edge.clear()

    def holes(self) -> dict:
        return self.hole_book.as_dict()

    def add_quiet(self, pool: str, start: int, end: int) -> None:
        """No trade in ``pool`` during ``[start, end)``: neither candles nor trades."""
        if pool not in self.world.pool_by_address:
            raise ValueError(f"unknown pool {pool}")
        self.quiet_book.add(pool, start, end)
        self._forget_computed()

    def quiet(self) -> dict:
        return self.quiet_book.as_dict()

    def _forget_computed(self) -> None:
        """Drop every memo derived from the minute series (it changed)."""
        self.model.clear()
        self.candles.clear()
        self.trades.clear()
        self.stats_book.clear()
        self.edge.clear()

    def disappear(self, pool: str, at: int | None = None) -> None:
        """``pool`` answers 404 from ``at`` (default: now) on, as a delisted pool does."""
        self._known(pool)
        self.fates.disappear(pool, int(self.clock()) if at is None else at)
        self.edge.clear()

    def garble(self, pool: str, start: int, end: int, kind: str) -> None:
        """Serve ``pool``'s candles meeting ``[start, end)`` implausible (see ``IMPLAUSIBLE``)."""
        self._known(pool)
        self.fates.garble(pool, start, end, kind)
        self.edge.clear()

    def fates_now(self) -> dict:
        return self.fates.as_dict()

    def _known(self, pool: str) -> None:
        if pool not in self.world.pool_by_address:
            raise ValueError(f"unknown pool {pool}")

    def configure(
        self,
        rate_per_min: int | None = None,
        fault_rate: float | None = None,
        limit_counts: str | None = None,
        cache_seconds: float | None = None,
    ) -> None:
        if rate_per_min is not None:
            self.limiter.per_min = int(rate_per_min)
        if fault_rate is not None:
            self.faults.rate = float(fault_rate)
        if limit_counts is not None:
            self.candles.rules = replace(self.candles.rules, limit_counts=limit_counts)
        if cache_seconds is not None:
            self.edge.configure(cache_seconds)

    def config(self) -> dict:
        return {
            "rate_per_min": self.limiter.per_min,
            "fault_rate": self.faults.rate,
            **self.candles.rules.describe(),
            "cache_seconds": self.edge.max_age,
        }

    def reset(self) -> None:
        """Forget faults, holes, added quiet spells, counters, credits, rate windows, clock
        changes; keep the world."""
        self.faults.reset()
        self.hole_book.clear()
        if self.quiet_book.clear():
            self._forget_computed()
        self.fates.reset()
        self.candles.clear()
        self.edge.clear()
        self.limiter.reset()
        self.metrics.reset()
        self.gate.reset()
        self.clock.reset()

    def stats(self) -> dict:
        return self.metrics.snapshot()

    def world_summary(self) -> dict:
        """Dexes and their pools (address, tokens, name, trade rate) for tests to pick from."""
        return summary(self.world, self.clock())

    def trade_count(self, pool: str, start: int, end: int, min_usd: float = 0.0) -> int:
        """Ground truth for benchmarks: ``pool``'s trades in ``[start, end)`` above ``min_usd``
        that have happened by now (the series runs ahead of the clock; the future is not told)."""
        if pool not in self.world.pool_by_address:
            raise ValueError(f"unknown pool {pool}")
        end = min(end, int(self.clock()) + 1)
        return self.trades.count(self.world.pool_by_address[pool], start, end, min_usd)

    # --- WSGI ----------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        path = environ.get("PATH_INFO", "") or "/"
        qs = environ.get("QUERY_STRING", "")
        if path.startswith("/__sim__/"):
            return self._control(environ, start_response, started)

        request_id = str(uuid.uuid4())
        route = resolve(path)
        query = dict(parse_qsl(qs, keep_blank_values=True))
        client = _client(environ)
        self.metrics.received(route.kind, client)
        fault: Fault | None = None
        refusal = self.gate.refusal(_headers(environ), query)
        # Every request with the right key spends credit, a refused one included (the plans
        # count failed calls too), so a client hammering the minute's limit burns its month.
        in_credit = refusal is None and self.gate.spend()
        retry = self.limiter.check("key" if self.gate.keyed else client) if in_credit else None
        if refusal is not None:
            reply = Reply(401, refusal)
        elif not in_credit:
            reply = Reply(429, coingecko_error(429, "You've used up this month's call credit."))
        elif retry is not None:
            self.metrics.limited()
            reply = Reply(429, RATE_LIMITED, [("Retry-After", str(retry))])
        else:
            self.metrics.admitted()
            fault = self.faults.take(f"{path}?{qs}")
            if fault is not None:
                self.metrics.fault(fault.kind)
            reply = self._answer(environ, route, query, request_id, fault)
        payload = reply.encode()
        runtime = time.perf_counter() - started
        self.metrics.status(reply.status)
        _log(environ, reply.status, runtime, f" fault={fault.kind}" if fault else "")
        headers = api_headers(reply, payload, reply.request_id or request_id, runtime)
        start_response(reply.status_line(), headers)
        if fault is not None and fault.kind == "truncated":
            return [payload[: len(payload) // 2]]
        return [payload]

    def _control(self, environ: dict, start_response: StartResponse, started: float) -> list:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        method = environ.get("REQUEST_METHOD", "GET")
        query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        reply = handle_control(self, method, environ["PATH_INFO"], raw, query)
        payload = reply.encode()
        _log(environ, reply.status, time.perf_counter() - started, " control")
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        start_response(reply.status_line(), headers)
        return [payload]

    def _answer(
        self,
        environ: dict,
        route: Route,
        query: dict[str, str],
        request_id: str,
        fault: Fault | None,
    ) -> Reply:
        if fault is not None:
            early = self._fault_reply(fault)
            if early is not None:
                return early
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return Reply(405, error_body(405, "Method Not Allowed"))
        if route.kind == "key":
            if not self.gate.keyed:
                return Reply(401, coingecko_error(MISSING, "API Key Missing"))
            return Reply(200, self.gate.usage(self.limiter.per_min))
        key = cache_key(environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
        now = self.clock()
        hit = self.edge.get(key, now)
        if hit is not None:
            kept, age = hit
            self.metrics.cache_hit()
            headers = [*kept.reply.headers, ("Age", str(int(age))), ("CF-Cache-Status", "HIT")]
            reply = Reply(kept.reply.status, kept.reply.body, headers, kept.request_id)
        else:
            reply = self._fresh(environ, route, query, request_id)
            if reply.status != 200:
                return reply
            self.edge.put(key, now, reply, request_id)
            reply = Reply(reply.status, reply.body, [*reply.headers, ("CF-Cache-Status", "MISS")])
        if fault is not None and fault.kind == "bad_json":
            return _BrokenReply(reply)
        if fault is not None and fault.kind == "implausible":
            return Reply(reply.status, implausible(reply.body), reply.headers)
        return reply

    def _fresh(self, environ: dict, route: Route, query: dict[str, str], request_id: str) -> Reply:
        """The answer computed now (what the CDN fetches from the origin on a miss)."""
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        req = Request(
            args=route.args, query=query, root=f"http://{host}{route.base}", request_id=request_id
        )
        try:
            return Reply(200, self.api.handle(route.kind, req))
        except ApiError as exc:
            return Reply(exc.status, exc.body)
        except Exception:
            logger.exception("simulator handler failed for %s", route.kind)
            return Reply(500, error_body(500, "Internal Server Error"))

    def _fault_reply(self, fault: Fault) -> Reply | None:
        """The canned answer for a fault, or None to continue (after any stall)."""
        if fault.kind == "500":
            return Reply(500, error_body(500, "Internal Server Error"))
        if fault.kind in ("429", "429_retry_after_0"):
            after = 0 if fault.kind == "429_retry_after_0" else fault.retry_after
            return Reply(429, RATE_LIMITED, [("Retry-After", str(after))])
        if fault.kind == "404":
            return Reply(404, error_body(404, "Not Found"))
        if fault.kind == "coingecko_429":
            return Reply(429, COINGECKO_429)
        if fault.kind == "throttle_200":
            return Reply(200, RATE_LIMITED)
        if fault.delay > 0:
            self.stopping.wait(fault.delay)
        return None


class _BrokenReply(Reply):
    """A 200 whose body is cut mid-document (with a matching Content-Length)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status, reply.body, reply.headers, reply.request_id)

    def encode(self) -> bytes:
        full = super().encode()
        return full[: len(full) // 2]
