"""Collect the network's DEX list and check that every target DEX is still listed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.utils import timezone

from collectors.gecko.client import GeckoClient
from collectors.services.persist import save_dexes
from marketdata import store
from marketdata.models import Dex

logger = logging.getLogger(__name__)


@dataclass
class DexReport:
    listed: int = 0
    written: int = 0
    missing_targets: list[str] = field(default_factory=list)


def collect_dexes(client: GeckoClient) -> DexReport:
    """Upsert every listed DEX; a target DEX the API no longer lists is logged and reported
    (its ``last_seen_at`` stays old in the admin) while the others go on."""
    network = store.get_network(client.network)
    seen_at = timezone.now()
    dexes = client.dexes()
    report = DexReport(listed=len(dexes), written=save_dexes(network, dexes, seen_at).written)
    listed = {d.slug for d in dexes}
    for target in Dex.objects.filter(network=network, is_target=True).order_by("slug"):
        if target.slug not in listed:
            logger.warning("target dex %r is not listed by the API for %s", target.slug, network)
            report.missing_targets.append(target.slug)
    return report
