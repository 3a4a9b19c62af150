"""Issue 16 §1: `make run` passed the simulator's GECKO_API_URL only to the processes it
started, so a command from another shell (which reads .env) called the real API. `make run`
now writes its target into .env, keeping every other line, and every process reads it there."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SIMULATOR = "http://127.0.0.1:8765/api/v2"
REAL = "https://api.geckoterminal.com/api/v2"
SETTINGS = "geckoproject.settings"


def write_target(dotenv: Path, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "GECKO_API_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "geckoproject.api_target", str(dotenv)],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_without_a_target_the_simulators_goes_into_env_and_other_lines_stay(tmp_path):
    dotenv = tmp_path / ".env"
    key = f"{secrets.token_hex(4)}=x"  # a value holding "=": kept whole
    dotenv.write_text(f"DEBUG=1\n# a comment\nSECRET_KEY={key}\nADMIN_USER=admin")
    out = write_target(dotenv)
    assert dotenv.read_text() == (
        f"DEBUG=1\n# a comment\nSECRET_KEY={key}\nADMIN_USER=admin\nGECKO_API_URL={SIMULATOR}\n"
    )
    assert SIMULATOR in out and str(dotenv) in out


def test_the_target_in_env_is_kept_and_one_from_the_environment_replaces_it(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"DEBUG=1\nGECKO_API_URL={REAL}\nADMIN_USER=admin\n")
    write_target(dotenv)
    assert dotenv.read_text() == f"DEBUG=1\nGECKO_API_URL={REAL}\nADMIN_USER=admin\n"
    write_target(dotenv, GECKO_API_URL=SIMULATOR)
    assert dotenv.read_text() == f"DEBUG=1\nGECKO_API_URL={SIMULATOR}\nADMIN_USER=admin\n"


def test_a_command_from_another_shell_reads_the_target_from_env(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("DEBUG=1\n")
    write_target(dotenv)
    clean = {k: v for k, v in os.environ.items() if k != "GECKO_API_URL"}
    done = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.GECKO_API_URL)"],
        cwd=ROOT,
        env={**clean, "GECKO_DOTENV": str(dotenv), "DJANGO_SETTINGS_MODULE": SETTINGS},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == SIMULATOR


def test_make_run_writes_the_target_before_it_starts_anything():
    text = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^run:.*?\n((?:\t.*\n|\n)+?)(?=^\S)", text, re.M | re.S).group(1)
    assert "geckoproject.api_target .env" in recipe
    assert recipe.index("geckoproject.api_target") < recipe.index("manage.py")
    assert recipe.index("geckoproject.api_target") < recipe.index("honcho")
