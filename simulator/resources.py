"""JSON:API resource objects shaped like GeckoTerminal's (key order and value types included)."""

from __future__ import annotations

import math
from decimal import Decimal

from .formatting import fixed, iso, long_decimal, percent, sig_decimal
from .hashing import unit
from .market import sol_price
from .poolstats import WINDOWS, PoolStats
from .world import WSOL, Dex, Pool, Token, World


def dex_resource(dex: Dex) -> dict:
    return {"id": dex.id, "type": "dex", "attributes": {"name": dex.name}}


def network_resource(network: str) -> dict:
    return {
        "id": network,
        "type": "network",
        "attributes": {"name": network.capitalize(), "coingecko_asset_platform_id": network},
    }


def token_ref(network: str, token: Token) -> dict:
    return {"data": {"id": f"{network}_{token.address}", "type": "token"}}


def token_resource(network: str, token: Token) -> dict:
    """The short token object used in ``included``."""
    return {
        "id": f"{network}_{token.address}",
        "type": "token",
        "attributes": {
            "address": token.address,
            "name": token.name,
            "symbol": token.symbol,
            "decimals": token.decimals,
            "image_url": token.image_url,
            "coingecko_coin_id": token.coingecko_coin_id,
        },
    }


def reserve_usd(pool: Pool, price: float) -> float:
    """Liquidity moves with the square root of price, as in a constant-product pool.

    A brand-new pool shows "0.0" like the recorded ones; collectors must not assume reserve > 0.
    """
    if pool.fresh:
        return 0.0
    return pool.reserve_usd * math.sqrt(price / math.exp(pool.log_level))


def pool_resource(network: str, pool: Pool, stats: PoolStats, now: float) -> dict:
    price = stats.price_usd
    sol = sol_price(now)
    fdv = price * pool.base.raw_supply / 10**pool.base.decimals
    price_str = sig_decimal(price, 15) if pool.short_prices else long_decimal(price)
    sol_str = sig_decimal(sol, 5) if pool.short_prices else long_decimal(sol)
    ratio_null = pool.fresh or pool.ratio_null
    w = stats.windows
    keys = pool.windows or tuple(k for k, _ in WINDOWS)
    legacy = pool.windows is not None
    attributes = {
        "base_token_price_usd": price_str,
        "base_token_price_native_currency": "NaN" if pool.fresh else sig_decimal(price / sol, 15),
        "quote_token_price_usd": sol_str,
        "quote_token_price_native_currency": "NaN" if pool.fresh else "1.0",
        "base_token_price_quote_token": None if ratio_null else sig_decimal(price / sol, 10),
        "quote_token_price_base_token": None if ratio_null else sig_decimal(sol / price, 15),
        "address": pool.address,
        "name": pool.name,
        "pool_created_at": iso(pool.created_at) if pool.created_known else None,
        "fdv_usd": None if pool.fresh else sig_decimal(fdv, 15),
        "market_cap_usd": sig_decimal(fdv * pool.circulating, 15) if pool.has_market_cap else None,
        "price_change_percentage": {k: percent(w[k].price_change) for k in keys},
        "transactions": {
            k: {"buys": w[k].buys, "sells": w[k].sells}
            if legacy
            else {
                "buys": w[k].buys,
                "sells": w[k].sells,
                "buyers": w[k].buyers,
                "sellers": w[k].sellers,
            }
            for k in keys
        },
        "volume_usd": {k: sig_decimal(w[k].volume_usd, 15) for k in keys},
        "reserve_in_usd": fixed(reserve_usd(pool, price), 4),
    }
    return {
        "id": f"{network}_{pool.address}",
        "type": "pool",
        "attributes": attributes,
        "relationships": {
            "base_token": token_ref(network, pool.base),
            "quote_token": token_ref(network, pool.quote),
            "dex": {"data": {"id": pool.dex_id, "type": "dex"}},
        },
    }


def included_for_pools(world: World, pools: list[Pool], include: set[str]) -> list[dict]:
    """Deduplicated related objects in first-seen order (tokens and dexes interleaved)."""
    seen: set[tuple[str, str]] = set()
    out: list[dict] = []
    for pool in pools:
        related = []
        if "base_token" in include:
            related.append(token_resource(world.network, pool.base))
        if "quote_token" in include:
            related.append(token_resource(world.network, pool.quote))
        if "dex" in include:
            related.append(dex_resource(world.dex_by_id[pool.dex_id]))
        for obj in related:
            key = (obj["type"], obj["id"])
            if key not in seen:
                seen.add(key)
                out.append(obj)
    return out


def token_market_resource(
    network: str, token: Token, top: list[tuple[Pool, PoolStats]], now: float
) -> dict:
    """``/tokens/{address}``: market data aggregated over the token's top pools."""
    if token.address == WSOL:
        price = sol_price(now)
    else:
        price = top[0][1].price_usd if top else 0.0
    whole = Decimal(token.raw_supply) / (Decimal(10) ** token.decimals)
    fdv = price * float(whole)
    reserve = sum(reserve_usd(p, s.price_usd) for p, s in top)
    volume = sum(s.windows["h24"].volume_usd for _, s in top)
    verified = [p for p, _ in top if p.has_market_cap and token.address != WSOL]
    full = token_resource(network, token)
    full["attributes"].update(
        {
            "total_supply": f"{token.raw_supply}.0",
            "normalized_total_supply": format(whole.normalize(), "f"),
            "price_usd": sig_decimal(price, 13),
            "fdv_usd": sig_decimal(fdv, 15),
            "total_reserve_in_usd": sig_decimal(reserve, 24),
            "volume_usd": {"h24": sig_decimal(volume, 15)},
            "market_cap_usd": sig_decimal(fdv * verified[0].circulating, 15) if verified else None,
        }
    )
    top_pools = [{"id": f"{network}_{p.address}", "type": "pool"} for p, _ in top]
    full["relationships"] = {"top_pools": {"data": top_pools}}
    return full


def _holders(seed: int, token: Token, now: float) -> dict:
    top10 = 15 + 60 * unit(seed, token.address, "top10")
    band2 = (100 - top10) * (0.1 + 0.2 * unit(seed, token.address, "band2"))
    band3 = (100 - top10 - band2) * (0.1 + 0.2 * unit(seed, token.address, "band3"))
    rest = 100 - top10 - band2 - band3
    return {
        "count": int(200 + 60000 * unit(seed, token.address, "holders") ** 3),
        "distribution_percentage": {
            "top_10": f"{top10:.4f}",
            "11_20": f"{band2:.4f}",
            "21_40": f"{band3:.4f}",
            "rest": f"{rest:.4f}",
        },
        "last_updated": iso(now - 3600 * unit(seed, token.address, "holders_at")),
    }


def token_info_resource(world: World, token: Token, now: float) -> dict:
    """``/tokens/{address}/info``: metadata; social fields are often null like the real API."""
    seed, addr = world.seed, token.address
    slug = token.symbol.lstrip("$").lower()
    has = {
        k: unit(seed, addr, k) < share
        for k, share in (
            ("web", 0.6),
            ("tg", 0.5),
            ("tw", 0.7),
            ("dc", 0.08),
            ("fc", 0.03),
            ("zo", 0.02),
        )
    }
    score = None if unit(seed, addr, "score_null") < 0.1 else 20 + 70 * unit(seed, addr, "score")
    image = token.image_url
    return {
        "id": f"{world.network}_{addr}",
        "type": "token",
        "attributes": {
            "address": addr,
            "name": token.name,
            "symbol": token.symbol,
            "decimals": token.decimals,
            "image_url": image,
            "image": {
                "thumb": image and image + "?size=thumb",
                "small": image and image + "?size=small",
                "large": image,
            },
            "coingecko_coin_id": token.coingecko_coin_id,
            "websites": [f"https://{slug}.fun"] if has["web"] else [],
            "discord_url": f"https://discord.gg/{slug}" if has["dc"] else None,
            "farcaster_url": f"https://warpcast.com/{slug}" if has["fc"] else None,
            "zora_url": f"https://zora.co/@{slug}" if has["zo"] else None,
            "telegram_handle": slug if has["tg"] else None,
            "twitter_handle": f"{slug}_sol" if has["tw"] else None,
            "description": f"{token.name} ({token.symbol}) is a community token on Solana.\r\n"
            "Not financial advice.",
            "gt_score": score,
            "gt_score_details": {
                "pool": round(100 * unit(seed, addr, "s_pool"), 4),
                "transaction": round(100 * unit(seed, addr, "s_tx"), 4),
                "creation": round(100 * unit(seed, addr, "s_creation"), 4),
                "info": round(100 * unit(seed, addr, "s_info"), 4),
                "holders": round(100 * unit(seed, addr, "s_holders"), 4),
            },
            "gt_verified": token.address == WSOL or unit(seed, addr, "verified") < 0.05,
            "categories": ["Meme"] if token.address != WSOL else ["Layer 1"],
            "gt_category_ids": ["meme"] if token.address != WSOL else ["layer-1"],
            "holders": _holders(seed, token, now),
            "mint_authority": "yes" if unit(seed, addr, "mint_auth") < 0.05 else "no",
            "freeze_authority": "yes" if unit(seed, addr, "freeze_auth") < 0.05 else "no",
            "is_honeypot": "no",
        },
    }
