"""One set-up from start to audit, on a virtual clock that starts at ``setups.START``."""

from __future__ import annotations

from collections.abc import Callable

import time_machine
from django.test import override_settings

from .audit import Losses, audit
from .driver import Driver, Run, forget_coordination
from .setups import START, Setup


def simulate(setup: Setup, *, progress: Callable[[str], None] | None = None) -> tuple[Run, Losses]:
    """Run ``setup`` against an empty store (the caller empties it) and audit the result."""
    forget_coordination()
    with override_settings(**setup.settings()), time_machine.travel(START, tick=False) as clock:
        driver = Driver(setup, clock, progress=progress)
        driver.watch()
        run = driver.loop()
        losses = audit(run)
    forget_coordination()
    return run, losses
