"""A ``manage.py`` command's output as it arrives: piped (lines with the time each was read)
or on a pseudo-terminal (the raw bytes a terminal would be sent, and the lines it would show)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass

from tests.celery_worker import ROOT

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class Line:
    at: float
    text: str


def manage(*args: str, env: dict[str, str], **popen) -> subprocess.Popen:
    """The command as a user's shell runs it: Python's own buffering (no PYTHONUNBUFFERED)."""
    env = {name: value for name, value in env.items() if name != "PYTHONUNBUFFERED"}
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, **popen)


def finished(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """``manage.py ARGS`` run to its end in a bare environment (PATH and the test settings, then
    ``env``): its exit status and text output, whatever the status."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "tests.settings", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def piped(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return manage(*args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


class LineReader:
    """Reads a pipe line by line as the lines arrive, never blocking past a deadline."""

    def __init__(self, pipe) -> None:
        self.fd = pipe.fileno()
        self.partial = b""
        self.closed = False

    def next(self, timeout: float) -> Line | None:
        """The next whole line, or None at the end of the output or when ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.partial:
            left = deadline - time.monotonic()
            if self.closed or left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            chunk = os.read(self.fd, 65536)
            self.closed = not chunk
            self.partial += chunk
        line, self.partial = self.partial.split(b"\n", 1)
        return Line(time.monotonic(), line.decode())

    def rest(self, timeout: float) -> list[Line]:
        lines = []
        while (line := self.next(timeout)) is not None:
            lines.append(line)
        return lines


def on_terminal(
    *args: str, env: dict[str, str], timeout: float = 120, interrupt_at: str | None = None
) -> str:
    """Run the command with stdout and stderr on a 300-column pseudo-terminal; what it wrote.

    ``interrupt_at``: send SIGINT once this text has been written."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 300, 0, 0))
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST  # the bytes as written: no newline or carriage return mapping
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    env = {**env, "TERM": "xterm-256color", "COLUMNS": "300", "LINES": "50"}
    process = manage(*args, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    written = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 1)[0]:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            written += chunk
            if interrupt_at and interrupt_at.encode() in written:
                process.send_signal(signal.SIGINT)
                interrupt_at = None
    finally:
        os.close(master)
        process.wait(timeout=30)
    assert process.returncode == 0, written.decode(errors="replace")[-3000:]
    return written.decode(errors="replace")


def shown_lines(written: str) -> list[str]:
    """Each line as the terminal leaves it: what follows the last carriage return, no escapes."""
    return [ANSI.sub("", line.rsplit("\r", 1)[-1]) for line in written.split("\n")]
