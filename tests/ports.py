"""Local ports for servers a test starts, and waiting for such a server to answer HTTP."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable

import httpx


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (free when asked)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_answer(
    get: Callable[[], httpx.Response], process: subprocess.Popen, timeout: float, what: str
) -> httpx.Response:
    """Call ``get`` until the server ``process`` started answers it: its first answer. Fails the
    test if the process exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return get()
        except httpx.TransportError:
            assert process.poll() is None and time.monotonic() < deadline, f"{what} did not start"
            time.sleep(0.1)
