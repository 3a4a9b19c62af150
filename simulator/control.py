"""The ``/__sim__/`` control plane: faults, holes, clock, config, stats and the world listing."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .responses import Reply

if TYPE_CHECKING:
    from .app import Simulator


def _bad(message: str) -> Reply:
    return Reply(400, {"error": message})


def handle_control(sim: Simulator, method: str, path: str, raw: bytes) -> Reply:
    """Dispatch a control request; bodies are JSON objects, answers are JSON too."""
    name = path.removeprefix("/__sim__/").strip("/")
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return _bad("body must be JSON")
    if not isinstance(body, dict):
        return _bad("body must be a JSON object")
    try:
        return _dispatch(sim, method, name, body)
    except (TypeError, ValueError, KeyError) as exc:
        return _bad(str(exc))


def _dispatch(sim: Simulator, method: str, name: str, body: dict) -> Reply:
    if name == "health":
        return Reply(200, {"ok": True})
    if name == "stats" and method == "GET":
        return Reply(200, sim.stats())
    if name == "world" and method == "GET":
        return Reply(200, sim.world_summary())
    if name == "faults":
        if method == "POST":
            sim.add_fault(**body)
        elif method == "DELETE":
            sim.faults.reset()
        return Reply(200, {"pending": sim.faults.pending()})
    if name == "holes":
        if method == "POST":
            sim.add_hole(body["pool"], int(body["start"]), int(body["end"]))
        return Reply(200, {"holes": sim.holes.as_dict()})
    if name == "clock":
        if method == "POST":
            if body.get("real"):
                sim.clock.reset()
            if "now" in body:
                sim.clock.freeze(float(body["now"]))
            if "advance" in body:
                sim.clock.advance(float(body["advance"]))
        return Reply(200, {"now": sim.clock(), **sim.clock.describe()})
    if name == "config":
        if method == "POST":
            sim.configure(**body)
        return Reply(200, {"rate_per_min": sim.limiter.per_min, "fault_rate": sim.faults.rate})
    if name == "reset" and method == "POST":
        sim.reset()
        return Reply(200, {"ok": True})
    return Reply(404, {"error": f"unknown control endpoint {method} /__sim__/{name}"})
