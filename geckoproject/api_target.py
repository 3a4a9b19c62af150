"""``python -m geckoproject.api_target [.env]``: write the API target `make run` uses into .env.

`make run` once passed the simulator's URL only to the processes it started, so a command run
from another shell (which reads .env, not make's environment) called the real API and opened
the fleet's breaker (issue 16). The target is now one line of .env, read by every process of
the checkout (geckoproject.settings loads .env, or GECKO_DOTENV).

The target is GECKO_API_URL from the environment when set, else the one .env holds, else the
simulator's. Only that line is added or replaced; every other line of .env stays as it was.
Plain text on purpose: it runs before Django is set up, and `make run` sources .env in sh.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

KEY = "GECKO_API_URL"
SIMULATOR_URL = "http://127.0.0.1:8765/api/v2"


def _key_of(line: str) -> str | None:
    text = line.strip()
    if not text or text.startswith("#") or "=" not in text:
        return None
    return text.removeprefix("export ").split("=", 1)[0].strip()


def read_value(path: Path, key: str) -> str | None:
    """The value of ``key`` in a .env file (the last one, as sh would see it); None if unset."""
    if not path.is_file():
        return None
    value = None
    for line in path.read_text().splitlines():
        if _key_of(line) == key:
            value = line.split("=", 1)[1].strip().strip("'\"")
    return value or None


def set_value(path: Path, key: str, value: str) -> None:
    """Set ``key=value`` in place of its first line (dropping any later ones), or append it."""
    lines = path.read_text().splitlines() if path.is_file() else []
    out, done = [], False
    for line in lines:
        if _key_of(line) == key:
            if not done:
                out.append(f"{key}={value}")
                done = True
            continue
        out.append(line)
    if not done:
        out.append(f"{key}={value}")
    path.write_text("\n".join(out) + "\n")


def choose(environ: Mapping[str, str], path: Path) -> str:
    return environ.get(KEY) or read_value(path, KEY) or SIMULATOR_URL


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else ".env")
    target = choose(os.environ, path)
    if read_value(path, KEY) != target:
        set_value(path, KEY, target)
    sys.stdout.write(f"API target: {target} ({KEY} in {path}: every process reads it there)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
