"""A scanner's finding: where, and which rule it breaks (tests/ops/secretscan.py,
tests/ops/sqlscan.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str

    def __str__(self) -> str:
        # Never the offending value itself: the report may end up in a CI log.
        return f"{self.path}:{self.line}: {self.rule}"
