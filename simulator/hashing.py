"""Deterministic randomness keyed by labels.

Every simulated value is a pure function of ``(seed, labels...)`` so the world, candles and
trades can be recomputed on demand instead of being stored, and two simulators with the
same seed agree byte for byte.
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np

B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_TABLE = bytes(B58_ALPHABET.encode()[b % 58] for b in range(256))


def digest(*parts: object, size: int = 32) -> bytes:
    """Stable bytes for a tuple of labels (``hash()`` is salted per process, so not usable)."""
    h = hashlib.blake2b(digest_size=size)
    h.update("\x1f".join(map(str, parts)).encode())
    return h.digest()


def hash_int(*parts: object) -> int:
    """A 64-bit integer derived from the labels."""
    return int.from_bytes(digest(*parts, size=8), "big")


def unit(*parts: object) -> float:
    """A float in [0, 1) derived from the labels."""
    return hash_int(*parts) / 2.0**64


def rng(*parts: object) -> np.random.Generator:
    """A numpy generator seeded by the labels, for vectorised draws."""
    return np.random.Generator(np.random.PCG64(hash_int(*parts)))


def b58encode(raw: bytes) -> str:
    """Bitcoin/Solana base58 (leading zero bytes become '1')."""
    n = int.from_bytes(raw, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(B58_ALPHABET[r])
    pad = len(raw) - len(raw.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out))


@functools.lru_cache(maxsize=4096)
def address(*parts: object, suffix: str = "") -> str:
    """A Solana-looking 32-byte public key; a vanity ``suffix`` replaces its tail."""
    text = b58encode(digest(*parts, size=32))
    if suffix:
        text = text[: 44 - len(suffix)] + suffix
    return text


def _b58_text(length: int, head_digits: int, *parts: object) -> str:
    """Random base58 text that decodes to a full-width key: the first digit is 1..head_digits.

    Byte-table translation instead of big-int division keeps per-trade rendering cheap.
    """
    raw = hashlib.shake_256("\x1f".join(map(str, parts)).encode()).digest(length)
    return B58_ALPHABET[1 + raw[0] % head_digits] + raw[1:].translate(_B58_TABLE).decode()


def signature(*parts: object) -> str:
    """A Solana-looking 64-byte transaction signature (88 base58 chars)."""
    return _b58_text(88, 4, *parts)


def wallet(*parts: object) -> str:
    """A Solana-looking 32-byte wallet address (44 base58 chars)."""
    return _b58_text(44, 16, *parts)
