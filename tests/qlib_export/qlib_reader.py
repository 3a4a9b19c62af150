"""Run by QLib's own interpreter (.venv-qlib): load an export with qlib and print it as JSON.

    .venv-qlib/bin/python tests/qlib_export/qlib_reader.py PROVIDER_DIR FREQ

Prints ``{"calendar": [...], "instruments": {NAME: [start, end]}, "features": {NAME: {"ts":
[...], "$open": [...], ...}}}``, every instrument QLib lists, every field, NaN as NaN.
"""

from __future__ import annotations

import json
import sys

import qlib
from qlib.data import D

FIELDS = ["$open", "$high", "$low", "$close", "$volume", "$factor", "$vwap"]


def main() -> None:
    provider, freq = sys.argv[1], sys.argv[2]
    qlib.init(provider_uri=provider, region="us", kernels=1, logging_level="ERROR")
    calendar = [str(t) for t in D.calendar(freq=freq)]
    instruments = D.list_instruments(D.instruments("all"), freq=freq, as_list=False)
    names = sorted(instruments)
    frame = D.features(names, FIELDS, freq=freq) if names else None
    features = {}
    for name in names:
        part = frame.xs(name, level="instrument")
        features[name] = {"ts": [str(t) for t in part.index]} | {
            f: [float(v) for v in part[f]] for f in FIELDS
        }
    spans = {name: [str(s) for s in instruments[name][0]] for name in names}
    json.dump({"calendar": calendar, "instruments": spans, "features": features}, sys.stdout)


if __name__ == "__main__":
    main()
