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


# Planted secrets, assembled at run time so this file does not hold them literally.
AWS = "AKIA" + "Q3EGRJ7XZ2PLN4VW"
PLANTED = [
    ("-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEow...", "private key"),
    ("-----BEGIN OPENSSH " + "PRIVATE KEY-----", "private key"),
    (f"aws_access_key_id = {AWS}", "AWS access key id"),
    ("token = 'ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'", "GitHub token"),
    ("GECKO_API_KEY=CG-" + "h7Kq2Lm9Xv4Rt8Wz3Np6Bc1D", "CoinGecko API key"),
    ('headers = {"x-cg-pro-api-key": "' + "q9Z2m4X7v1R8t3W6" + '"}', "GeckoTerminal key header"),
    ("DATABASE_URL=postgres://gecko:" + "Vq83jsKx02Lm@db:5432/gecko", "password in a URL"),
    ("SECRET_KEY = '" + "k2#Jd9!xQw7@Lp4$Zr8%Tv1^" + "'", "SECRET_KEY"),
    ("ADMIN_PASSWORD=" + "Hu7Lk2Qm9Zx4Wr", "ADMIN_PASSWORD"),
    ("webhook_token: " + "a8F3kL9qZ2xW7mN4", "webhook_token"),
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
