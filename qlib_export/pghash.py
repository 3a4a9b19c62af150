"""PostgreSQL's ``hash_record_extended((ts, open, high, low, close, volume_usd), 0)``, in numpy.

source.digests sums that hash over a pool's bars inside PostgreSQL; bars of archived months are
read from Parquet, so their digest is computed here, bit for bit the same (PostgreSQL 12 and
later: lookup3's ``hash_bytes_extended`` over a float8's bytes, 0 for ±0.0, one NaN for every
NaN; ``hash_uint32_extended`` over an int8's folded halves; columns combined as ``h = h*31 + x``).
A digest then does not change when a month moves from the database to its file.
"""

from __future__ import annotations

import numpy as np

_U32 = np.uint32
_PG_EPOCH = 946_684_800  # 2000-01-01T00:00:00Z in Unix seconds
_NAN_BITS = np.uint64(0x7FF8000000000000)


def _rot(x: np.ndarray, k: int) -> np.ndarray:
    return (x << _U32(k)) | (x >> _U32(32 - k))


_FINAL_ROTATIONS = (14, 11, 25, 16, 4, 14, 24)


def _final(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """lookup3's ``final``: each step mixes a word into the next of c, a, b in turn, in place."""
    words = [a, b, c]
    source = 1
    for k in _FINAL_ROTATIONS:
        target = (source + 1) % 3
        words[target] ^= words[source]
        words[target] -= _rot(words[source], k)
        source = target
    return words[1], words[2]


def _join(b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return (b.astype(np.uint64) << np.uint64(32)) | c.astype(np.uint64)


def hash_int8(values: np.ndarray) -> np.ndarray:
    """``hashint8extended(v, 0)`` (also timestamptz's) as uint64."""
    values = values.astype(np.int64)
    bits = values.view(np.uint64)
    low = (bits & np.uint64(0xFFFFFFFF)).astype(_U32)
    high = (bits >> np.uint64(32)).astype(_U32)
    low ^= np.where(values >= 0, high, ~high)
    init = _U32(0x9E3779B9 + 4 + 3923095)
    a = np.full(len(values), init, _U32) + low
    b, c = np.full(len(values), init, _U32), np.full(len(values), init, _U32)
    return _join(*_final(a, b, c))


def hash_float8(values: np.ndarray) -> np.ndarray:
    """``hashfloat8extended(v, 0)`` as uint64 (little-endian words, as PostgreSQL on x86/ARM)."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    bits = np.where(np.isnan(values), _NAN_BITS, values.view(np.uint64))
    init = _U32(0x9E3779B9 + 8 + 3923095)
    a = np.full(len(values), init, _U32) + (bits & np.uint64(0xFFFFFFFF)).astype(_U32)
    b = np.full(len(values), init, _U32) + (bits >> np.uint64(32)).astype(_U32)
    c = np.full(len(values), init, _U32)
    hashed = _join(*_final(a, b, c))
    return np.where(values == 0.0, np.uint64(0), hashed)


def bar_hashes(ts: np.ndarray, columns: list[np.ndarray]) -> np.ndarray:
    """One ``hash_record_extended`` per bar as int64; ``ts`` in Unix seconds."""
    with np.errstate(over="ignore"):
        result = hash_int8((ts.astype(np.int64) - _PG_EPOCH) * 1_000_000)
        for values in columns:
            result = result * np.uint64(31) + hash_float8(values)
    return result.view(np.int64)


def total(hashes: np.ndarray) -> int:
    """Their exact sum (PostgreSQL sums bigints as numeric), without int64 overflow."""
    high = (hashes >> np.int64(32)).sum(dtype=np.int64)
    low = (hashes & np.int64(0xFFFFFFFF)).sum(dtype=np.int64)
    return int(high) * (1 << 32) + int(low)
