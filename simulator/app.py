"""The simulator: world + models + control state behind one WSGI callable."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from .api import Api, Request, resolve
from .candles import CandleEngine
from .clock import SimClock
from .control import handle_control
from .faults import Fault, FaultBook
from .holes import HoleBook
from .limits import RateLimiter
from .market import MarketModel
from .metrics import Metrics
from .poolstats import StatsBook
from .responses import COINGECKO_429, RATE_LIMITED, ApiError, Reply, api_headers, error_body
from .trades import TradeBook
from .world import build_world

logger = logging.getLogger("simulator")
StartResponse = Callable[..., Any]


def _client(environ: dict) -> str:
    forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
    return forwarded.split(",")[0].strip() or environ.get("REMOTE_ADDR", "?")


def _log(environ: dict, status: int, runtime: float, note: str) -> None:
    """The one INFO line per request."""
    qs = environ.get("QUERY_STRING", "")
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
    """A deterministic GeckoTerminal v2 stand-in; call it as a WSGI app.

    ``clock`` supplies "now" (defaults to wall time; it is wrapped in a :class:`SimClock`
    that tests can freeze/advance). ``epoch`` anchors pool ages and defaults to the start of
    the current hour, so two simulators with the same seed started in the same hour agree.
    """

    def __init__(
        self,
        seed: int = 42,
        rate_per_min: int = 30,
        fault_rate: float = 0.0,
        clock: Callable[[], float] | None = None,
        epoch: int | None = None,
    ) -> None:
        self.seed = seed
        self.clock = SimClock(clock)
        self.epoch = epoch if epoch is not None else int(self.clock() // 3600 * 3600)
        self.world = build_world(seed, self.epoch)
        self.model = MarketModel(self.world)
        self.holes = HoleBook()
        self.stats_book = StatsBook(self.model)
        self.candles = CandleEngine(self.model, self.holes)
        self.trades = TradeBook(self.model)
        self.api = Api(self)
        self.limiter = RateLimiter(rate_per_min)
        self.faults = FaultBook(seed, fault_rate)
        self.metrics = Metrics()
        self.stopping = threading.Event()

    # --- control ---------------------------------------------------------------------------
    def add_fault(
        self,
        kind: str,
        count: int = 1,
        path_contains: str | None = None,
        delay: float | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``count`` API requests matching ``path_contains`` fail with ``kind``."""
        self.faults.add(kind, count, path_contains, delay, retry_after)

    def add_hole(self, pool: str, start: int, end: int) -> None:
        """Drop ``[start, end)`` from ``pool``'s candle history."""
        if pool not in self.world.pool_by_address:
            raise ValueError(f"unknown pool {pool}")
        self.holes.add(pool, start, end)
        self.candles.clear()

    def configure(self, rate_per_min: int | None = None, fault_rate: float | None = None) -> None:
        if rate_per_min is not None:
            self.limiter.per_min = int(rate_per_min)
        if fault_rate is not None:
            self.faults.rate = float(fault_rate)

    def reset(self) -> None:
        """Forget faults, holes, counters, rate windows and clock changes (not the world)."""
        self.faults.reset()
        self.holes.clear()
        self.candles.clear()
        self.limiter.reset()
        self.metrics.reset()
        self.clock.reset()

    def stats(self) -> dict:
        return self.metrics.snapshot()

    def world_summary(self) -> dict:
        """Dexes and their pools (address, base token, name) for tests to pick from."""
        w = self.world
        return {
            "network": w.network,
            "seed": w.seed,
            "epoch": w.epoch,
            "now": self.clock(),
            "dexes": [
                {"id": d.id, "name": d.name, "pools": len(w.pools_by_dex[d.id])} for d in w.dexes
            ],
            "pools": {
                d.id: [
                    {
                        "address": p.address,
                        "base_token": p.base.address,
                        "quote_token": p.quote.address,
                        "name": p.name,
                        "pool_created_at": p.created_at,
                    }
                    for p in w.pools_by_dex[d.id]
                ]
                for d in w.dexes
            },
        }

    # --- WSGI ----------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "") or "/"
        qs = environ.get("QUERY_STRING", "")
        client = _client(environ)
        if path.startswith("/__sim__/"):
            return self._control(environ, start_response, started)

        request_id = str(uuid.uuid4())
        kind, args = resolve(path)
        self.metrics.received(kind, client)
        fault: Fault | None = None
        retry = self.limiter.check(client)
        if retry is not None:
            self.metrics.limited()
            reply = Reply(429, RATE_LIMITED, [("Retry-After", str(retry))])
        else:
            self.metrics.admitted()
            fault = self.faults.take(f"{path}?{qs}")
            if fault is not None:
                self.metrics.fault(fault.kind)
            reply = self._answer(method, kind, args, qs, environ, request_id, fault)
        payload = reply.encode()
        runtime = time.perf_counter() - started
        self.metrics.status(reply.status)
        _log(environ, reply.status, runtime, f" fault={fault.kind}" if fault else "")
        start_response(reply.status_line(), api_headers(reply, payload, request_id, runtime))
        if fault is not None and fault.kind == "truncated":
            return [payload[: len(payload) // 2]]
        return [payload]

    def _control(self, environ: dict, start_response: StartResponse, started: float) -> list:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        method = environ.get("REQUEST_METHOD", "GET")
        reply = handle_control(self, method, environ["PATH_INFO"], raw)
        payload = reply.encode()
        _log(environ, reply.status, time.perf_counter() - started, " control")
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        start_response(reply.status_line(), headers)
        return [payload]

    def _answer(
        self,
        method: str,
        kind: str,
        args: tuple[str, ...],
        qs: str,
        environ: dict,
        request_id: str,
        fault: Fault | None,
    ) -> Reply:
        if fault is not None:
            early = self._fault_reply(fault)
            if early is not None:
                return early
        if method not in ("GET", "HEAD"):
            return Reply(405, error_body(405, "Method Not Allowed"))
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        req = Request(
            args=args,
            query=dict(parse_qsl(qs, keep_blank_values=True)),
            root=f"http://{host}/api/v2",
            request_id=request_id,
        )
        try:
            reply = Reply(200, self.api.handle(kind, req))
        except ApiError as exc:
            return Reply(exc.status, exc.body)
        except Exception:
            logger.exception("simulator handler failed for %s", kind)
            return Reply(500, error_body(500, "Internal Server Error"))
        if fault is not None and fault.kind == "bad_json":
            return _BrokenReply(reply)
        return reply

    def _fault_reply(self, fault: Fault) -> Reply | None:
        """The canned answer for a fault, or None to continue (after any stall)."""
        if fault.kind == "500":
            return Reply(500, error_body(500, "Internal Server Error"))
        if fault.kind in ("429", "429_retry_after_0"):
            after = 0 if fault.kind == "429_retry_after_0" else fault.retry_after
            return Reply(429, RATE_LIMITED, [("Retry-After", str(after))])
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
        super().__init__(reply.status, reply.body, reply.headers)

    def encode(self) -> bytes:
        full = super().encode()
        return full[: len(full) // 2]
