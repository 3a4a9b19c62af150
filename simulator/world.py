"""The simulated Solana universe: DEXes, pools and tokens, built deterministically from a seed.

Only identities and per-pool model parameters live here; prices, candles and trades are
computed on demand from these parameters (see ``market.py``), so building a world of
hundreds of pools takes milliseconds.

Trade rates are heavy-tailed like a real chain's, which is what a collector's budget planner has
to work against: pools are ranked (a DEX's weight, the pool's place in it, and luck) and trade
``TOP_TRADES_PER_DAY / rank ** ZIPF`` times a day, so a handful trade thousands of times a day
and most a few dozen. Volume is trades × mean trade size, and the reserve sits at a plausible
turnover (24 h volume 0.3–3 × reserve, a mean trade at most 5 % of it), so the numbers agree.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from .hashing import address, hash_int
from .names import token_name

NETWORK = "solana"
WSOL = "So11111111111111111111111111111111111111112"

# (id, display name, pool count, weight of the DEX's top pool in the world's activity ranking).
# The first 20 are the recorded Solana page 1, in the recorded order; the rest form page 2.
DEX_TABLE: tuple[tuple[str, str, int, float], ...] = (
    ("raydium", "Raydium", 24, 60.0),
    ("orca", "Orca", 12, 20.0),
    ("raydium-clmm", "Raydium (CLMM)", 14, 25.0),
    ("fluxbeam", "FluxBeam", 5, 2.0),
    ("meteora", "Meteora", 16, 30.0),
    ("dexlab", "Dexlab", 3, 0.5),
    ("daos-fun", "Daos.fun", 3, 1.0),
    ("pumpswap", "PumpSwap", 50, 220.0),
    ("virtuals-solana", "Virtuals (Solana)", 4, 3.0),
    ("boop-fun", "Boop.fun", 6, 4.0),
    ("saros-amm", "Saros AMM", 3, 0.6),
    ("meteora-dbc", "Meteora DBC", 22, 15.0),
    ("byreal", "Byreal", 4, 2.0),
    ("pancakeswap-v3-solana", "Pancakeswap V3 (Solana)", 3, 1.5),
    ("meteora-damm-v2", "Meteora DAMM V2", 10, 12.0),
    ("raydium-launchlab", "Raydium Launchlab", 12, 20.0),
    ("pump-fun", "Pump.fun", 30, 40.0),
    ("saros-dlmm", "Saros DLMM", 2, 0.4),
    ("wavebreak", "Wavebreak", 2, 0.5),
    ("heaven", "Heaven", 45, 40.0),
    ("lifinity", "Lifinity", 3, 3.0),
    ("phoenix", "Phoenix", 0, 0.0),
    ("openbook", "OpenBook", 2, 0.5),
    ("moonshot", "Moonshot", 4, 2.0),
    ("stabble", "Stabble", 0, 0.0),
    ("solfi", "SolFi", 2, 5.0),
    ("goosefx", "GooseFX", 1, 0.3),
    ("humidifi", "HumidiFi", 2, 8.0),
)
# Vanity mint suffixes by launchpad, with the share of mints that carry them.
MINT_SUFFIX = {
    "pump-fun": ("pump", 1.0),
    "pumpswap": ("pump", 0.8),
    "heaven": ("777", 0.8),
    "raydium-launchlab": ("bonk", 0.7),
}
FEE_DEXES = {"orca", "raydium-clmm", "meteora", "pancakeswap-v3-solana", "saros-dlmm", "byreal"}
FEES = ("0.01%", "0.05%", "0.25%", "1%", "2%")
# New pools whose native prices are still "NaN": (dex, index within dex).
FRESH_POOLS = {("pump-fun", 3), ("meteora-dbc", 2)}
TOP_TRADES_PER_DAY = 50_000.0
ZIPF = 1.5
MIN_TRADES_PER_DAY = 5.0
# Share of luck in a pool's rank (log units) against its DEX's weight and its place in the DEX.
RANK_NOISE = 0.7
TRADE_USD = (40.0, 400.0)
TURNOVER = (0.3, 3.0)
MAX_TRADE_SHARE = 0.05
# Quiet months by seed: this many pools (times the world's scale) with a 1m history deeper than
# six months go without a trade for QUIET_DAYS days, ending QUIET_ENDS days before the epoch
# (inside public history).
QUIET_POOLS = 3
QUIET_MIN_AGE_DAYS = 200
QUIET_DAYS = (28, 42)
QUIET_ENDS = (30, 100)
QUIET_TRADES_PER_DAY = (50.0, 5_000.0)
# Pools in today's world, without the odd ones (see ``odd_pools.py``).
ORDINARY_POOLS = sum(count for _, _, count, _ in DEX_TABLE)
# Every 5th pump-fun pool trades the same mint as the pumpswap pool it graduated into (when that
# mint is a pump.fun one).
SHARED_EVERY = 5


@dataclass(frozen=True)
class Dex:
    id: str
    name: str


@dataclass(frozen=True)
class Token:
    address: str
    name: str
    symbol: str
    decimals: int
    raw_supply: int
    image_url: str | None
    coingecko_coin_id: str | None


@dataclass(frozen=True)
class Pool:
    """A pool plus the parameters of its price/activity model."""

    address: str
    dex_id: str
    base: Token
    quote: Token
    name: str
    created_at: int
    activity: float  # mean trades per minute
    trade_usd: float  # mean trade size
    log_level: float  # long-run mean of log(USD price)
    level_vol: float  # daily shock size of the level process
    minute_vol: float  # per-active-minute log-return noise
    reserve_usd: float  # at the long-run price level
    fresh: bool
    has_market_cap: bool
    circulating: float
    short_prices: bool
    ratio_null: bool
    buy_share: float
    unique_share: float
    # The API's rarer shapes and fates (see ``odd_pools.py``); ordinary pools keep the defaults.
    created_known: bool = True  # False: ``pool_created_at`` is served as null
    windows: tuple[str, ...] | None = None  # only these stats windows, no buyers/sellers
    busy_from: int | None = None  # no trade before this instant, ``activity`` after it
    gone_at: int | None = None  # answers 404 from this instant on
    implausible: tuple[tuple[int, int, str], ...] = ()  # (start, end, kind) candles served wrong

    @property
    def trades_per_day(self) -> float:
        return self.activity * 1440


@dataclass
class World:
    seed: int
    epoch: int
    dexes: tuple[Dex, ...]
    pools: tuple[Pool, ...]
    network: str = NETWORK
    # Pool address -> [start, end) spells (epoch seconds) without a trade (simulator.quiet).
    quiet_spells: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    pool_by_address: dict[str, Pool] = field(default_factory=dict)
    pools_by_dex: dict[str, tuple[Pool, ...]] = field(default_factory=dict)
    pools_by_token: dict[str, tuple[Pool, ...]] = field(default_factory=dict)
    dex_by_id: dict[str, Dex] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.dex_by_id = {d.id: d for d in self.dexes}
        self.pool_by_address = {p.address: p for p in self.pools}
        self.tokens = {WSOL: SOL_TOKEN}
        by_dex: dict[str, list[Pool]] = {d.id: [] for d in self.dexes}
        by_token: dict[str, list[Pool]] = {WSOL: []}
        for p in self.pools:
            by_dex[p.dex_id].append(p)
            self.tokens.setdefault(p.base.address, p.base)
            by_token.setdefault(p.base.address, []).append(p)
            by_token[WSOL].append(p)
        self.pools_by_dex = {k: tuple(v) for k, v in by_dex.items()}
        self.pools_by_token = {k: tuple(v) for k, v in by_token.items()}


SOL_TOKEN = Token(
    address=WSOL,
    name="Wrapped SOL",
    symbol="SOL",
    decimals=9,
    raw_supply=13_284_770_551_223_409,
    image_url="https://coin-images.coingecko.com/coins/images/21629/large/solana.jpg?1696520989",
    coingecko_coin_id="wrapped-solana",
)


def _make_token(seed: int, rnd: random.Random, dex_id: str, i: int) -> Token:
    suffix, share = MINT_SUFFIX.get(dex_id, ("", 0.0))
    mint = address(seed, "mint", dex_id, i, suffix=suffix if rnd.random() < share else "")
    name, symbol = token_name(rnd)
    launchpad = bool(suffix) or rnd.random() < 0.6
    decimals = 6 if launchpad else rnd.choice((6, 9))
    whole = 1_000_000_000 * rnd.uniform(0.9995, 0.99999) if launchpad else rnd.uniform(1e8, 1e10)
    image = f"https://assets.geckoterminal.com/{address(seed, 'img', mint)[:28].lower()}"
    gecko_id = name.lower().replace(" ", "-") if rnd.random() < 0.08 else None
    return Token(
        address=mint,
        name=name,
        symbol=symbol,
        decimals=decimals,
        raw_supply=int(whole * 10**decimals),
        image_url=image if rnd.random() < 0.85 else None,
        coingecko_coin_id=gecko_id,
    )


def _make_pool(
    seed: int,
    epoch: int,
    rnd: random.Random,
    dex_id: str,
    i: int,
    base: Token,
    per_day: float,
    *,
    fresh: bool = False,
) -> Pool:
    trade_usd = _log_uniform(rnd, *TRADE_USD)
    max_age = 60 if dex_id == "heaven" else 420
    age = rnd.uniform(600, 4800) if fresh else _log_uniform(rnd, 7200, max_age * 86400)
    turnover_cap = min(TURNOVER[1], max(TURNOVER[0], per_day * MAX_TRADE_SHARE))
    reserve = per_day * trade_usd / _log_uniform(rnd, TURNOVER[0], turnover_cap)
    name = f"{base.symbol} / SOL"
    if dex_id in FEE_DEXES and rnd.random() < 0.5:
        name += " " + rnd.choice(FEES)
    return Pool(
        address=address(seed, "pool", dex_id, i),
        dex_id=dex_id,
        base=base,
        quote=SOL_TOKEN,
        name=name,
        created_at=int(epoch - age),
        activity=per_day / 1440,
        trade_usd=trade_usd,
        log_level=rnd.uniform(math.log(2e-7), math.log(0.05)),
        level_vol=rnd.uniform(0.12, 0.3),
        minute_vol=rnd.uniform(0.002, 0.008),
        reserve_usd=reserve,
        fresh=fresh,
        has_market_cap=rnd.random() < 0.1,
        circulating=rnd.uniform(0.6, 1.0),
        short_prices=dex_id == "heaven",
        ratio_null=rnd.random() < 0.12,
        buy_share=rnd.uniform(0.45, 0.58),
        unique_share=rnd.uniform(0.45, 0.85),
    )


def _log_uniform(rnd: random.Random, lo: float, hi: float) -> float:
    return math.exp(rnd.uniform(math.log(lo), math.log(hi)))


def _trade_rates(
    seed: int, counts: dict[str, int], factor: float = 1.0
) -> dict[tuple[str, int], float]:
    """Trades a day per (dex, index): Zipf's law over a seeded ranking of every pool. A world
    ``factor`` times today's ranks ``factor`` pools at each of today's places, so its rates are
    spread as today's are (not a longer tail of pools at the floor)."""
    rnd = random.Random(hash_int(seed, "rates"))
    pull = {
        (dex_id, i): math.log(weight) - 1.3 * math.log(i + 1) + rnd.gauss(0, RANK_NOISE)
        for dex_id, _, _, weight in DEX_TABLE
        for i in range(counts[dex_id])
    }
    ranked = sorted(pull, key=lambda k: -pull[k])
    return {
        key: max(
            MIN_TRADES_PER_DAY,
            TOP_TRADES_PER_DAY * (rank / factor + 1) ** -ZIPF * math.exp(rnd.gauss(0, 0.15)),
        )
        for rank, key in enumerate(ranked)
    }


def scale(pools: int | None) -> float:
    """How many times today's world a world of ``pools`` pools is: 1 (today's world, byte for
    byte) unless more pools than it holds are asked for."""
    from .odd_pools import ODDITIES

    if pools is None or pools <= ORDINARY_POOLS + len(ODDITIES):
        return 1.0
    return pools / ORDINARY_POOLS


def build_world(seed: int, epoch: int, pools: int | None = None) -> World:
    """Build every DEX, pool and token for ``seed``; ``epoch`` anchors pool ages.

    ``pools`` above today's world (290) scales every DEX's pool count up so the world holds at
    least that many ordinary pools, and the quiet months and odd pools with them (a large
    watchlist meets them as often as a small one does); ``None`` is today's world.
    """
    factor = scale(pools)
    counts = {d: math.ceil(c * factor) for d, _, c, _ in DEX_TABLE}
    rnd = random.Random(hash_int(seed, "world"))
    dexes = tuple(Dex(id=d, name=n) for d, n, _, _ in DEX_TABLE)
    ordinary: list[Pool] = []
    pumpswap_bases: list[Token] = []
    rates = _trade_rates(seed, counts, factor)
    for dex_id, _, count, _ in DEX_TABLE:
        for i in range(counts[dex_id]):
            token = _make_token(seed, rnd, dex_id, i)
            if (
                dex_id == "pump-fun"
                and i % SHARED_EVERY == SHARED_EVERY - 1
                and i < len(pumpswap_bases)
                and pumpswap_bases[i].address.endswith("pump")
            ):
                token = pumpswap_bases[i]
            if dex_id == "pumpswap":
                pumpswap_bases.append(token)
            fresh = (dex_id, i % count) in FRESH_POOLS
            ordinary.append(
                _make_pool(seed, epoch, rnd, dex_id, i, token, rates[dex_id, i], fresh=fresh)
            )
    # Drawn from their own random stream after everything else, so they shift no other pool.
    from .odd_pools import odd_pools  # it builds on this module's pools and tokens

    copies = max(1, round(factor))
    odd_dex, odd = odd_pools(seed, epoch, copies=copies)
    return World(
        seed=seed,
        epoch=epoch,
        dexes=(*dexes, odd_dex),
        pools=(*ordinary, *odd),
        quiet_spells=_quiet_spells(seed, epoch, ordinary, QUIET_POOLS * copies),
    )


def _quiet_spells(
    seed: int, epoch: int, pools: list[Pool], count: int
) -> dict[str, tuple[tuple[int, int], ...]]:
    """A quiet month for a few pools whose history is deeper than six months, chosen by seed
    among those that otherwise trade most days (so the spell stands out)."""
    low, high = QUIET_TRADES_PER_DAY
    deep = [
        p
        for p in pools
        if p.created_at <= epoch - QUIET_MIN_AGE_DAYS * 86400 and low <= p.trades_per_day <= high
    ]
    deep.sort(key=lambda p: hash_int(seed, "quiet", p.address))
    spells = {}
    for pool in deep[:count]:
        rnd = random.Random(hash_int(seed, "quiet-spell", pool.address))
        end = epoch - int(rnd.uniform(*QUIET_ENDS) * 86400) // 60 * 60
        start = end - int(rnd.uniform(*QUIET_DAYS) * 86400) // 60 * 60
        spells[pool.address] = ((start, end),)
    return spells


def oddities(pool: Pool) -> dict:
    """What sets an odd pool apart, for tests to find it (nothing for an ordinary pool)."""
    odd: dict = {}
    if not pool.created_known:
        odd["pool_created_at_served"] = None
    if pool.windows is not None:
        odd["windows"] = list(pool.windows)
    if pool.busy_from is not None:
        odd["busy_from"] = pool.busy_from
    if pool.gone_at is not None:
        odd["gone_at"] = pool.gone_at
    if pool.implausible:
        odd["implausible"] = [list(r) for r in pool.implausible]
    return odd


def summary(world: World, now: float) -> dict:
    """Dexes and their pools (address, tokens, name, trade rate) for tests and benchmarks."""
    quiet = world.quiet_spells
    return {
        "quiet_spells": {a: [list(s) for s in spells] for a, spells in quiet.items()},
        "network": world.network,
        "seed": world.seed,
        "epoch": world.epoch,
        "now": now,
        "dexes": [
            {"id": d.id, "name": d.name, "pools": len(world.pools_by_dex[d.id])}
            for d in world.dexes
        ],
        "pools": {
            d.id: [
                {
                    "address": p.address,
                    "base_token": p.base.address,
                    "quote_token": p.quote.address,
                    "name": p.name,
                    "pool_created_at": p.created_at,
                    "trades_per_day": round(p.trades_per_day, 3),
                    "mean_trade_usd": round(p.trade_usd, 2),
                    **oddities(p),
                }
                for p in world.pools_by_dex[d.id]
            ]
            for d in world.dexes
        },
    }
