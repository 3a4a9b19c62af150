"""A threaded HTTP server for the simulator, plus a background-thread runner for tests.

wsgiref + ThreadingMixIn keeps the dependency list unchanged; HTTP/1.0 closes each
connection after its answer, which is what lets the ``truncated`` fault cut a body short.
"""

from __future__ import annotations

import logging
import signal
import socketserver
import threading
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

import httpx

from .app import Simulator
from .routes import ONCHAIN, V2

logger = logging.getLogger("simulator")


class _QuietHandler(WSGIRequestHandler):
    """The app logs one line per request itself; silence wsgiref's stderr access log."""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection error from %s", client_address, exc_info=True)


def make_server(
    simulator: Simulator, host: str = "127.0.0.1", port: int = 0
) -> ThreadingWSGIServer:
    """Bind (port 0 picks a free port) without serving yet."""
    server = ThreadingWSGIServer((host, port), _QuietHandler)
    server.set_app(simulator)
    return server


class RunningSimulator:
    """A simulator served from a daemon thread: ``base_url`` ends in ``/api/v2``.

    ``onchain_url`` is the same data under CoinGecko's keyed base path ``/api/v3/onchain``.
    """

    def __init__(self, simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.simulator = simulator
        self.server = make_server(simulator, host, port)
        self.host, self.port = self.server.server_address[:2]
        self.sim_url = f"http://{self.host}:{self.port}"
        self.base_url = f"{self.sim_url}{V2}"
        self.onchain_url = f"{self.sim_url}{ONCHAIN}"
        self._thread: threading.Thread | None = None

    def start(self) -> RunningSimulator:
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"gecko-simulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.simulator.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> RunningSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # In-process shortcuts for tests; the same operations exist over HTTP under /__sim__/.
    def add_fault(self, *args: object, **kwargs: object) -> None:
        """See :meth:`Simulator.add_fault`."""
        self.simulator.add_fault(*args, **kwargs)

    def add_hole(self, pool: str, start: int, end: int) -> None:
        self.simulator.add_hole(pool, start, end)

    def stats(self) -> dict:
        return self.simulator.stats()

    def reset(self) -> None:
        self.simulator.reset()

    def world(self) -> dict:
        return self.simulator.world_summary()

    def control(self, name: str, body: dict | None = None) -> dict:
        """Call a control endpoint over HTTP (POST with a body, else GET)."""
        method = "GET" if body is None else "POST"
        resp = httpx.request(method, f"{self.sim_url}/__sim__/{name}", json=body, timeout=10)
        return resp.json()


def serve_until_signal(simulator: Simulator, host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM, then stop accepting and return (used by the command)."""
    running = RunningSimulator(simulator, host, port)
    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        logger.info("signal %s: shutting down the simulator", signum)
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    running.start()
    gate = simulator.gate
    logger.info(
        "GeckoTerminal simulator on %s and %s (seed=%s, rate_per_min=%s, fault_rate=%s, "
        "pools=%s, clock_speed=%s, %s)",
        running.base_url,
        running.onchain_url,
        simulator.seed,
        simulator.limiter.per_min,
        simulator.faults.rate,
        len(simulator.world.pools),
        simulator.clock.describe()["speed"],
        f"{gate.plan_id} key required in {gate.plan.header}" if gate.keyed else "keyless",
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        running.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        logger.info("simulator stopped")
