"""Find secret-looking strings in committed files.

Two kinds of rule: formats that are secrets wherever they appear (private keys, AWS access
key ids, GitHub/Slack tokens, CoinGecko keys, an ``x-cg-*-api-key`` header with a value, a URL
with a password), and a value of some length and randomness assigned to a name that says
SECRET/PASSWORD/TOKEN/KEY. Known test-only values are allowed by ALLOWED_VALUES (say why);
a line may also carry ``secretscan: allow`` after review.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

from .findings import Finding

MAX_BYTES = 1_000_000

PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "CoinGecko API key": re.compile(r"\bCG-[A-Za-z0-9]{20,}\b"),
    "GeckoTerminal key header": re.compile(
        r"x-cg-(?:demo|pro)-api-key['\"]?\s*[:=,]\s*['\"]?(?!\$\{|\{|%)([A-Za-z0-9_-]{12,})",
        re.IGNORECASE,
    ),
    "password in a URL": re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:([^@\s/'\"$]{6,})@"),
}
ASSIGNMENT = re.compile(
    r"(?P<name>\b[A-Za-z0-9_-]*(?:SECRET(?:_KEY)?|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY"
    r"|ACCESS_?KEY))\b['\"]?\s*(?::|=|:=)\s*"
    r"(?:\"(?P<dq>[^\"]{12,})\"|'(?P<sq>[^']{12,})'|(?P<bare>[^\s'\"#,)]{12,}))",
    re.IGNORECASE,
)
# An unquoted right-hand side that is code, not a literal: ``t.token``, ``tokens[i]``.
REFERENCE = re.compile(r"[A-Za-z_][\w]*(?:[.\[].*)?")
SNAKE_WORD = re.compile(r"[a-z][a-z0-9_]*")
# Words that mark a value as a placeholder or a test value, not a secret.
PLACEHOLDER = re.compile(
    r"test|example|dummy|insecure|placeholder|changeme|change-me|not-for-production|your[-_]|"
    r"xxxx|\*\*\*|<[^>]*>|^\$|^\{|\(|settings\.|environ|getenv",
    re.IGNORECASE,
)
NUMBER = re.compile(r"[-+]?[0-9.eE+-]+")
BASE58_ADDRESS = re.compile(r"[1-9A-HJ-NP-Za-km-z]{32,44}")
# Values committed on purpose, each with its reason.
ALLOWED_VALUES = {
    "s3cret-analyst-pw": "tests/api: the password of a throwaway test user",
}
ALLOW_MARK = "secretscan: allow"


def entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _harmless(value: str) -> bool:
    return (
        value in ALLOWED_VALUES
        or bool(PLACEHOLDER.search(value))
        or bool(BASE58_ADDRESS.fullmatch(value))  # a Solana address is public
        or bool(NUMBER.fullmatch(value))
        or bool(SNAKE_WORD.fullmatch(value))  # a name such as x_cg_demo_api_key
        or entropy(value) < 3.0
    )


def scan_text(path: str, text: str) -> list[Finding]:
    findings = []
    for number, line in enumerate(text.splitlines(), 1):
        if ALLOW_MARK in line:
            continue
        rule = _first_rule(line)
        if rule is not None:
            findings.append(Finding(path, number, rule))
    return findings


def _is_reference(bare: str) -> bool:
    """Code on the right-hand side (``t.token``, ``bases[i]``, ``base_token``)."""
    return "." in bare or "[" in bare or bool(REFERENCE.fullmatch(bare) and "_" in bare)


def _first_rule(line: str) -> str | None:
    for rule, pattern in PATTERNS.items():
        match = pattern.search(line)
        if match and not (match.groups() and _harmless(match.group(1))):
            return rule
    for match in ASSIGNMENT.finditer(line):
        bare = match.group("bare")
        if bare is not None and _is_reference(bare):
            continue
        value = match.group("dq") or match.group("sq") or bare
        if not _harmless(value):
            return f"{match.group('name')} = <random value>"
    return None


def scan_file(root: Path, path: str) -> list[Finding]:
    full = root / path
    if not full.is_file() or full.stat().st_size > MAX_BYTES:
        return []
    data = full.read_bytes()
    if b"\0" in data[:8192]:
        return []
    return scan_text(path, data.decode("utf-8", "replace"))
