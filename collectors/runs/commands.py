"""A management command's own API calls, recorded as one CollectionRun ``command:<name>``.

A command run from a shell spends the same API budget as the fleet, so its calls and their
errors belong in the admin beside the workers' runs (issue 16: a backfill's 17 failed calls
appeared nowhere). A command that made no call (a dry run, a bad option, a queued run) leaves
no row. Its clients fail fast: a target that cannot be reached ends the command in seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from collectors.gecko.client import LAST_ERRORS, GeckoClient
from collectors.runs.tracking import RunTally, track_run


@dataclass
class CommandRun:
    """What the command reports: its clients (for their call counts), rows written, summary."""

    clients: list[GeckoClient] = field(default_factory=list)
    items_written: int = 0
    detail: str = ""

    def client(self, **options: Any) -> GeckoClient:
        """A fail-fast client whose calls this run counts."""
        client = GeckoClient(fail_fast=True, **options)
        self.clients.append(client)
        return client

    def fill(self, tally: RunTally) -> None:
        stats = [c.stats for c in self.clients]
        tally.api_calls = sum(s.calls for s in stats)
        tally.errors = sum(s.errors for s in stats)
        tally.throttled = sum(s.throttled for s in stats)
        tally.last_errors = [e for s in stats for e in s.last_errors][-LAST_ERRORS:]
        tally.items_written = self.items_written
        tally.detail = self.detail
        tally.discard = tally.api_calls == 0


@contextmanager
def command_run(name: str, arguments: dict) -> Iterator[CommandRun]:
    """Record the block's API calls as CollectionRun ``command:<name>`` (none: no row)."""
    run = CommandRun()
    with track_run(f"command:{name}", arguments) as tally:
        try:
            yield run
        finally:
            run.fill(tally)
