"""The second half of bench/export.py's baseline: ``dump_bin.py dump_all``, in QLib's venv.

The pyqlib wheel does not ship ``scripts/dump_bin.py`` (only the git repository has it), and the
project vendors no code from elsewhere. This script redoes dump_all's documented algorithm in
one process (as ``--max_workers 1``), with the same libraries (pandas, numpy) and the same
passes over the files (shared/reference/QLIB.md §2, §7):

1. date pass: read every CSV whole, collect its dates; the calendar is their sorted union;
2. write ``calendars/<freq>.txt`` and ``instruments/all.txt`` (upper-case stem, first, last);
3. feature pass: read every CSV again, drop duplicate dates, reindex it on the calendar between
   its first and last date (NaN where it has no row), and write each field as ``<f4`` with the
   calendar index of its first date in front.

    .venv-qlib/bin/python bench/_dump_all_baseline.py CSV_DIR QLIB_DIR FREQ
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

EXCLUDE = {"date", "symbol"}


def read(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, low_memory=False)
    frame["date"] = pd.to_datetime(frame["date"].astype(str))
    return frame.drop_duplicates("date")


def main() -> None:
    csv_dir, qlib_dir, freq = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    files = sorted(csv_dir.glob("*.csv"))
    fmt = "%Y-%m-%d" if freq == "day" else "%Y-%m-%d %H:%M:%S"

    dates = []
    spans = {}
    for path in files:
        column = read(path)["date"]
        dates.append(column.to_numpy())
        spans[path.stem] = (column.min(), column.max())
    calendar = pd.DatetimeIndex(np.unique(np.concatenate(dates)))
    (qlib_dir / "calendars").mkdir(parents=True, exist_ok=True)
    (qlib_dir / "instruments").mkdir(parents=True, exist_ok=True)
    np.savetxt(qlib_dir / "calendars" / f"{freq}.txt", calendar.strftime(fmt), fmt="%s")
    with (qlib_dir / "instruments" / "all.txt").open("w") as handle:
        for stem, (first, last) in spans.items():
            handle.write(f"{stem.upper()}\t{first.strftime(fmt)}\t{last.strftime(fmt)}\n")

    position = pd.Series(np.arange(len(calendar)), index=calendar)
    for path in files:
        frame = read(path).set_index("date")
        first, last = spans[path.stem]
        slots = calendar[(calendar >= first) & (calendar <= last)]
        frame = frame.reindex(slots)
        target = qlib_dir / "features" / path.stem.lower()
        target.mkdir(parents=True, exist_ok=True)
        start = position[slots[0]]
        for field in frame.columns:
            if field in EXCLUDE:
                continue
            values = np.hstack([[start], frame[field].to_numpy(dtype=float)])
            values.astype("<f").tofile(target / f"{field.lower()}.{freq}.bin")


if __name__ == "__main__":
    main()
