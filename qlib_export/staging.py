"""Write a frequency directory beside its target, then put it in place with renames."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def stage(out: Path, freq: str) -> Path:
    """A new hidden directory in ``out`` for one frequency's files, with the usual mode."""
    staging = Path(tempfile.mkdtemp(dir=out, prefix=f".{freq}.partial-"))
    staging.chmod(_directory_mode())  # mkdtemp's 0700 would hide it from others
    return staging


def swap_in(staging: Path, target: Path) -> None:
    """Put ``staging`` where ``target`` is; the old one stays whole until the rename."""
    if not target.exists():
        staging.rename(target)
        return
    retired = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
    target.rename(retired / target.name)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)


def _directory_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o777 & ~umask
