"""No secret-looking string is committed; the scanner itself is tested on planted examples."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.ops.secretscan import scan_file, scan_text

ROOT = Path(__file__).resolve().parents[2]


def tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [p for p in out.split("\0") if p]


def test_no_committed_file_holds_a_secret():
    files = tracked_files()
    assert len(files) > 100
    findings = [f for path in files for f in scan_file(ROOT, path)]
    assert findings == [], "\n".join(map(str, findings))


# Planted secrets, stored reversed so that this file does not hold them.
PLANTED = [
    ("...woEIIM\n-----YEK ETAVIRP ASR NIGEB-----"[::-1], "private key"),
    ("-----YEK ETAVIRP HSSNEPO NIGEB-----"[::-1], "private key"),
    ("WV4NLP2ZX7JRGE3QAIKA = di_yek_ssecca_swa"[::-1], "AWS access key id"),
    ("'8R7q6P5o4N3m2L1k0J9i8H7g6F5e4D3c2B1a_phg' = nekot"[::-1], "GitHub token"),
    ("D1cB6pN3zW8tR4vX9mL2qK7h-GC=YEK_IPA_OKCEG"[::-1], "CoinGecko API key"),
    ('}"6W3t8R1v7X4m2Z9q" :"yek-ipa-orp-gc-x"{ = sredaeh'[::-1], "GeckoTerminal key header"),
    ("okceg/2345:bd@mL20xKsj38qV:okceg//:sergtsop=LRU_ESABATAD"[::-1], "password in a URL"),
    ("'^1vT%8rZ$4pL@7wQx!9dJ#2k' = YEK_TERCES"[::-1], "SECRET_KEY"),
    ("rW4xZ9mQ2kL7uH=DROWSSAP_NIMDA"[::-1], "ADMIN_PASSWORD"),
    ("4Nm7Wx2Zq9Lk3F8a :nekot_koohbew"[::-1], "webhook_token"),
]


@pytest.mark.parametrize(("text", "rule"), PLANTED, ids=[r for _, r in PLANTED])
def test_the_scanner_finds_a_planted_secret(tmp_path, text, rule):
    (tmp_path / "leak.txt").write_text(f"harmless line\n{text}\n")

    [finding] = scan_file(tmp_path, "leak.txt")

    assert finding.line == 2 and rule in finding.rule
    assert text.split()[-1][-6:] not in str(finding), "a finding never repeats the secret"


@pytest.mark.parametrize(
    "text",
    [
        'SECRET_KEY = env("SECRET_KEY")',
        "SECRET_KEY=${SECRET_KEY:?set it}",
        'os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use")',
        "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}",
        'TOKEN_A = "5LKHMd2rMSRaG9y4iHwSLRtrJ3dCrJ2CytvBeak8pump"',
        "password = 'aaaaaaaaaaaaaaaa'",
        'headers["x-cg-demo-api-key"] = self.api_key',
        "DATABASE_URL=postgres://postgres@127.0.0.1:5432/geckoproject",
        "redis://:${REDIS_PASSWORD}@redis:6379/0",
        "key = 'Hu7Lk2Qm9Zx4Wr'  # secretscan: allow (reviewed: a public fixture id)",
    ],
)
def test_the_scanner_leaves_placeholders_alone(text):
    assert scan_text("ok.py", text) == []
