"""Polling with a deadline, for tests that wait on other processes (no Django imports: the
pytest plugins load it early)."""

from __future__ import annotations

import time


def wait_until(condition, timeout: float, what: str, pause: float = 0.1) -> None:
    """Poll ``condition`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(pause)
