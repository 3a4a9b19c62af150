"""docker-compose's defaults match the settings' and docs/configuration.md's; Flower is private."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILES = sorted(ROOT.glob("docker-compose*.yml"))


def test_every_compose_file_defaults_to_the_settings_rate():
    public = settings.GECKO_API_PLANS["public"]["rate_per_min"]
    defaults = {
        path.name: re.findall(r"GECKO_RATE_LIMIT_PER_MIN:-([\d.]+)", path.read_text())
        for path in COMPOSE_FILES
    }
    assert defaults["docker-compose.yml"], "docker-compose.yml sets the rate"
    for name, found in defaults.items():
        assert all(float(value) == public for value in found), (name, found, public)
    documented = (ROOT / "docs" / "configuration.md").read_text()
    assert f"| `GECKO_RATE_LIMIT_PER_MIN` / `GECKO_RATE_LIMIT_BURST` | `{public:g}`" in documented


def test_flower_is_published_on_localhost_only():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    ports = compose["services"]["flower"]["ports"]
    assert ports and all(str(p).startswith("127.0.0.1:") for p in ports), ports
