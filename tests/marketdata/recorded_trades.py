"""The recorded ``get_trades`` answer (300 real Solana trades of one pool), read from the shared
reference beside the checkout; a test that needs it is skipped where it is absent."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from marketdata.trade_layout import MONEY

RECORDED = Path("shared/reference/recorded/get_trades.csv")
# The recorded pool's tokens: trades buy its base token with SOL, or sell it for SOL.
BASE_TOKEN = "5LKHMd2rMSRaG9y4iHwSLRtrJ3dCrJ2CytvBeak8pump"
QUOTE_TOKEN = "So11111111111111111111111111111111111111112"


def recorded_path() -> Path | None:
    """The reference sits beside the main checkout (``../shared``) or above a worktree."""
    for parent in Path(__file__).resolve().parents:
        if (parent / RECORDED).is_file():
            return parent / RECORDED
    return None


def recorded_rows() -> list[dict[str, str]]:
    path = recorded_path()
    if path is None:
        pytest.skip(f"no {RECORDED} above this checkout")
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def block_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def store_rows(pool_id: int, fetched_at: datetime | None = None) -> list[dict]:
    """The recorded trades as collectors.services.persist.trade_rows gives them to the store
    (``fetched_at``: as the schema before migration 0011 also kept it)."""
    rows = []
    for r in recorded_rows():
        rows.append(
            {
                "trade_id": r["id"],
                "pool_id": pool_id,
                "block_number": int(r["block_number"]),
                "block_timestamp": block_time(r["block_timestamp"]),
                "tx_hash": r["tx_hash"],
                "tx_from_address": r["tx_from_address"],
                "side": r["side"],
                "from_token_address": r["from_token_address"],
                "to_token_address": r["to_token_address"],
                **{f: Decimal(r[f]) if r[f] else None for f in MONEY},
            }
            | ({} if fetched_at is None else {"fetched_at": fetched_at})
        )
    return rows
