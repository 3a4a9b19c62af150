"""Issue 17: bytes per trade as the API's text vs marketdata.trade_codec's encoded forms.

Reads the recorded ``get_trades`` file (300 real Solana trades) from the shared reference
beside the checkout, checks every field decodes back exactly, and prints the mean bytes per
trade of each address/hash field as text and encoded (tag byte included; PostgreSQL adds the
same 1-byte short-varlena header to either). For the trade id: its text, and what a row must
keep beyond its own network, block number and hash: the event index and the lag of the id's
unix ts after ``block_timestamp``, as two smallints.

    .venv/bin/python bench/trade_codec_sizes.py [path/to/get_trades.csv]
"""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from pathlib import Path
from statistics import mean

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from marketdata.trade_codec import (  # noqa: E402
    build_trade_id,
    decode_address,
    encode_address,
    split_trade_id,
    unix_seconds,
)

RECORDED = Path("shared/reference/recorded/get_trades.csv")
FIELDS = ("tx_hash", "tx_from_address", "from_token_address", "to_token_address")
SMALLINT = 2


def _find() -> Path | None:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    return next((p / RECORDED for p in ROOT.parents if (p / RECORDED).is_file()), None)


def main() -> int:
    path = _find()
    if path is None:
        print(f"no {RECORDED} above {ROOT}: nothing to measure")
        return 0
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    print(f"{len(rows)} trades from {path}")
    print(f"{'field':<22}{'text B':>9}{'encoded B':>11}")
    total_text = total_encoded = 0.0
    for field in FIELDS:
        texts = [r[field] for r in rows]
        encoded = [encode_address(t) for t in texts]
        assert [decode_address(e) for e in encoded] == texts, field
        text_b, enc_b = mean(len(t.encode()) for t in texts), mean(len(e) for e in encoded)
        total_text, total_encoded = total_text + text_b, total_encoded + enc_b
        print(f"{field:<22}{text_b:>9.2f}{enc_b:>11.2f}")
    parts, lags = [], []
    for row in rows:
        id_parts = split_trade_id(row["id"])
        assert id_parts is not None and build_trade_id(id_parts) == row["id"], row["id"]
        block_time = datetime.strptime(row["block_timestamp"], "%Y-%m-%dT%H:%M:%S%z")
        parts.append(id_parts)
        lags.append(id_parts.unix_ts - unix_seconds(block_time))
    id_b = mean(len(r["id"].encode()) for r in rows)
    index_b = mean(len(str(p.event_index)) for p in parts)
    ts_b = mean(len(str(p.unix_ts)) for p in parts)
    top_index = max(p.event_index for p in parts)
    print(f"{'trade_id':<22}{id_b:>9.2f}{2 * SMALLINT:>11.2f}  (event index + ts lag)")
    print(f"{'  its event index':<22}{index_b:>9.2f}{SMALLINT:>11.2f}  (max {top_index})")
    print(f"{'  its unix ts':<22}{ts_b:>9.2f}{SMALLINT:>11.2f}  (lag {min(lags)}..{max(lags)} s)")
    print(f"{'total':<22}{total_text + id_b:>9.2f}{total_encoded + 2 * SMALLINT:>11.2f}")
    print(f"ids rebuilt from block_timestamp with no lag: {sum(x == 0 for x in lags)}/{len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
