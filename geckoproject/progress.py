"""What a long command shows while it works: a rich bar on a terminal, a line per unit on a pipe.

A log handler keeps the stream it was given at start-up, so a line it writes while a bar is live
lands in the middle of the bar's redraw. While the bar is live, every handler writing to a
terminal writes through the bar's console instead: each line is printed whole above the bar,
which is redrawn below it. Piped, there is no bar: the plan and each unit's line are flushed as
they are written, so a log file shows them as they happen, not all at the end.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from rich.console import Console
from rich.progress import Progress


def bar_wanted(options: dict[str, Any]) -> bool:
    """A bar only on a terminal, unless ``--no-progress`` or ``-v 0``."""
    return options["verbosity"] > 0 and not options.get("no_progress") and sys.stderr.isatty()


def say(stdout, text: str) -> None:
    """Write a line and flush it: a pipe gets it now, not when the command ends."""
    stdout.write(text)
    stdout.flush()


class _AboveTheBar(io.TextIOBase):
    """A log handler's stream while a bar is live: each whole line printed above the bar."""

    def __init__(self, console: Console, original: Any) -> None:
        self.console = console
        self.original = original
        self.partial = ""

    def write(self, text: str) -> int:
        lines = (self.partial + text).split("\n")
        self.partial = lines.pop()
        for line in lines:
            self.console.print(line, markup=False, highlight=False, emoji=False, soft_wrap=True)
        return len(text)

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.original.fileno()


def _writes_to_terminal(handler: logging.Handler) -> bool:
    if not isinstance(handler, logging.StreamHandler) or isinstance(handler, logging.FileHandler):
        return False
    isatty = getattr(handler.stream, "isatty", None)
    return bool(isatty and isatty())


@contextmanager
def logs_through(console: Console) -> Iterator[None]:
    """Every handler writing to a terminal writes through ``console`` until the block ends."""
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    handlers = {
        handler
        for logger in loggers
        for handler in getattr(logger, "handlers", ())
        if _writes_to_terminal(handler)
    }
    previous = {handler: handler.stream for handler in handlers}
    for handler, stream in previous.items():
        handler.setStream(_AboveTheBar(console, stream))
    try:
        yield
    finally:
        for handler, stream in previous.items():
            handler.setStream(stream)


class CommandProgress:
    """A rich bar on stderr when enabled, with the log lines passing above it; ``unit_done``
    writes a finished unit's line above the bar on a terminal, or to stdout (flushed)."""

    def __init__(self, stdout, *columns: Any, enabled: bool, transient: bool = False) -> None:
        self.stdout = stdout
        self.bar = Progress(
            *columns,
            console=Console(file=sys.stderr),
            disable=not enabled,
            transient=transient,
            # print() to a piped stdout stays on the pipe, never on the terminal's bar.
            redirect_stdout=sys.stdout.isatty(),
        )
        self._live = ExitStack()

    @property
    def shown(self) -> bool:
        return not self.bar.disable

    def __enter__(self) -> CommandProgress:
        self.bar.start()
        if self.shown:
            self._live.enter_context(logs_through(self.bar.console))
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.close()
        self.bar.stop()

    def note(self, text: str, stderr) -> None:
        """A message for stderr (an interrupt noticed): above the bar while it is shown."""
        if self.shown:
            self.bar.console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)
        else:
            stderr.write(text)

    def unit_done(self, text: str) -> None:
        if self.shown and self.stdout.isatty():
            self.bar.console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)
        else:
            say(self.stdout, text)
