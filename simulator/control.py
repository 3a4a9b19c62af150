"""The ``/__sim__/`` control plane: faults, holes, quiet spells, pool fates, clock, config, stats,
the world.

It drives whatever satisfies :class:`Controls` (the :class:`~simulator.app.Simulator` does), so
this module depends on the operations, not on the object that composes the simulator.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from .clock import SimClock
from .faults import FaultBook
from .responses import Reply


class Controls(Protocol):
    clock: SimClock
    faults: FaultBook

    def stats(self) -> dict: ...

    def world_summary(self) -> dict: ...

    def add_hole(self, pool: str, start: int, end: int) -> None: ...

    def holes(self) -> dict: ...

    def add_quiet(self, pool: str, start: int, end: int) -> None: ...

    def quiet(self) -> dict: ...

    def disappear(self, pool: str, at: int | None = None) -> None: ...

    def garble(self, pool: str, start: int, end: int, kind: str) -> None: ...

    def fates_now(self) -> dict: ...

    def configure(self, **settings: Any) -> None:
        """The POSTed body's keys, passed on as they are (an unknown one: TypeError, a 400)."""

    def config(self) -> dict: ...

    def trade_count(self, pool: str, start: int, end: int, min_usd: float = 0.0) -> int: ...

    def reset(self) -> None: ...


def _bad(message: str) -> Reply:
    return Reply(400, {"error": message})


def handle_control(sim: Controls, method: str, path: str, raw: bytes, query: dict) -> Reply:
    """Dispatch a control request; bodies are JSON objects, answers are JSON too."""
    name = path.removeprefix("/__sim__/").strip("/")
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return _bad("body must be JSON")
    if not isinstance(body, dict):
        return _bad("body must be a JSON object")
    try:
        return _dispatch(sim, method, name, body, query)
    except (TypeError, ValueError, KeyError) as exc:
        return _bad(str(exc))


def _clock(sim: Controls, body: dict) -> Reply:
    if body.get("real"):
        sim.clock.reset()
    if "now" in body:
        sim.clock.freeze(float(body["now"]))
    if "advance" in body:
        sim.clock.advance(float(body["advance"]))
    if "speed" in body:
        sim.clock.run(float(body["speed"]))
    return Reply(200, {"now": sim.clock(), **sim.clock.describe()})


def _dispatch(sim: Controls, method: str, name: str, body: dict, query: dict) -> Reply:
    if name == "health":
        return Reply(200, {"ok": True})
    if name == "stats" and method == "GET":
        return Reply(200, sim.stats())
    if name == "world" and method == "GET":
        return Reply(200, sim.world_summary())
    if name == "trade_count" and method == "GET":
        start, end = (int(float(query[k])) for k in ("start", "end"))
        count = sim.trade_count(query["pool"], start, end, float(query.get("min_usd", 0)))
        return Reply(200, {"count": count})
    if name == "faults":
        if method == "POST":
            sim.faults.add(**body)
        elif method == "DELETE":
            sim.faults.reset()
        return Reply(200, {"pending": sim.faults.pending()})
    if name == "holes":
        if method == "POST":
            sim.add_hole(body["pool"], int(body["start"]), int(body["end"]))
        return Reply(200, {"holes": sim.holes()})
    if name == "quiet":
        if method == "POST":
            sim.add_quiet(body["pool"], int(body["start"]), int(body["end"]))
        return Reply(200, {"quiet": sim.quiet()})
    if name == "gone":
        if method == "POST":
            at = body.get("at")
            sim.disappear(body["pool"], None if at is None else int(at))
        return Reply(200, sim.fates_now())
    if name == "implausible":
        if method == "POST":
            start, end = int(body["start"]), int(body["end"])
            sim.garble(body["pool"], start, end, body["kind"])
        return Reply(200, sim.fates_now())
    if name == "clock":
        return _clock(sim, body) if method == "POST" else _clock(sim, {})
    if name == "config":
        if method == "POST":
            sim.configure(**body)
        return Reply(200, sim.config())
    if name == "reset" and method == "POST":
        sim.reset()
        return Reply(200, {"ok": True})
    return Reply(404, {"error": f"unknown control endpoint {method} /__sim__/{name}"})
