"""Servers a test starts on this machine: a free port, the process, and its first answer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


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


@contextmanager
def server(argv: list[str], env: dict[str, str], **popen) -> Iterator[subprocess.Popen]:
    """``argv`` run from the project root in a session of its own until the block ends; then,
    if it still runs, its whole process group is sent SIGTERM and must exit within 30 s
    (else it is SIGKILLed and the test fails)."""
    process = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True, **popen)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise
