"""Handlers for the GeckoTerminal paths the project uses (routing lives in ``routes.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .candles import DEFAULT_LIMIT, MAX_LIMIT, TIMEFRAMES, CandleEngine, CandleQuery
from .fates import Fates
from .poolstats import StatsBook
from .resources import (
    dex_resource,
    included_for_pools,
    network_resource,
    pool_resource,
    token_info_resource,
    token_market_resource,
)
from .responses import ApiError
from .trades import TradeBook
from .world import Pool, Token, World

PAGE_SIZE = 20
MAX_PAGE = 10
MAX_MULTI = 30
TOP_POOLS = 20
POOL_INCLUDES = {"base_token", "quote_token", "dex"}


@dataclass(frozen=True)
class Request:
    """What a handler needs: path captures, query, the URL root for links, the request id."""

    args: tuple[str, ...]
    query: dict[str, str]
    root: str
    request_id: str


def _int(query: dict[str, str], name: str, default: int | None) -> int | None:
    raw = query.get(name, "")
    if raw == "":
        return default
    try:
        return int(float(raw))
    except ValueError:
        raise ApiError(400, "Bad Request", f"{name} must be an integer") from None


def _page(query: dict[str, str]) -> int:
    try:
        return max(1, int(query.get("page") or 1))
    except ValueError:
        return 1


def _includes(query: dict[str, str]) -> set[str] | None:
    if "include" not in query:
        return None
    return {part.strip() for part in query["include"].split(",") if part.strip()}


class Api:
    """Handlers read the world at ``clock()``; they get the models they read, nothing more."""

    def __init__(
        self,
        world: World,
        stats: StatsBook,
        candles: CandleEngine,
        trades: TradeBook,
        clock: Callable[[], float],
        fates: Fates,
    ) -> None:
        self.world = world
        self.fates = fates
        self.stats = stats
        self.candles = candles
        self.trade_book = trades
        self.clock = clock
        self.handlers: dict[str, Callable[[Request], dict]] = {
            "networks": self.networks,
            "dexes": self.dexes,
            "dex_pools": self.dex_pools,
            "pools_multi": self.pools_multi,
            "pool": self.pool,
            "ohlcv": self.ohlcv,
            "trades": self.trades,
            "token": self.token,
            "token_info": self.token_info,
        }

    def handle(self, kind: str, req: Request) -> dict:
        if kind == "unknown":
            raise ApiError(404, "Not Found")
        if kind != "networks" and req.args[0] != self.world.network:
            raise ApiError(404, "Not Found")
        return self.handlers[kind](req)

    # --- helpers -------------------------------------------------------------------------
    def _pool(self, address: str) -> Pool:
        """The pool, if it exists now (not before its creation, nor after it disappeared)."""
        pool = self.world.pool_by_address.get(address)
        if pool is None or not self.fates.exists(pool, self.clock()):
            raise ApiError(404, "Not Found")
        return pool

    def _token(self, address: str) -> Token:
        token = self.world.tokens.get(address)
        if token is None:
            raise ApiError(404, "Not Found")
        return token

    def _pool_list(self, pools: list[Pool], query: dict[str, str], now: float) -> dict:
        net = self.world.network
        body: dict = {"data": [pool_resource(net, p, self.stats.get(p, now), now) for p in pools]}
        include = _includes(query)
        if include is not None:
            body["included"] = included_for_pools(self.world, pools, include & POOL_INCLUDES)
        return body

    @staticmethod
    def _links(url: str, page: int, last: int) -> dict:
        def link(n: int | None) -> str | None:
            return None if n is None else f"{url}?page={n}"

        return {
            "first": link(1),
            "prev": link(page - 1 if 1 < page <= last + 1 else None),
            "next": link(page + 1 if page < last else None),
            "last": link(last),
        }

    # --- endpoints -------------------------------------------------------------------------
    def networks(self, req: Request) -> dict:
        page = _page(req.query)
        data = [network_resource(self.world.network)] if page == 1 else []
        return {"data": data, "links": self._links(f"{req.root}/networks", page, 1)}

    def dexes(self, req: Request) -> dict:
        page = _page(req.query)
        dexes = self.world.dexes
        last = max(1, -(-len(dexes) // PAGE_SIZE))
        chunk = dexes[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        url = f"{req.root}/networks/{self.world.network}/dexes"
        return {"data": [dex_resource(d) for d in chunk], "links": self._links(url, page, last)}

    def dex_pools(self, req: Request) -> dict:
        dex_id = req.args[1]
        if dex_id not in self.world.dex_by_id:
            raise ApiError(404, "Not Found")
        page = _page(req.query)
        if page > MAX_PAGE:
            raise ApiError(400, "Bad Request", f"page must be between 1 and {MAX_PAGE}")
        now = self.clock()
        stats = self.stats
        pools = [p for p in self.world.pools_by_dex[dex_id] if self.fates.exists(p, now)]
        if req.query.get("sort") == "h24_volume_usd_desc":
            pools.sort(key=lambda p: (-stats.get(p, now).windows["h24"].volume_usd, p.address))
        else:
            pools.sort(key=lambda p: (-stats.get(p, now).h24_tx, p.address))
        return self._pool_list(pools[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], req.query, now)

    def pools_multi(self, req: Request) -> dict:
        wanted = list(dict.fromkeys(a.strip() for a in req.args[1].split(",") if a.strip()))
        if len(wanted) > MAX_MULTI:
            raise ApiError(400, "Bad Request", f"at most {MAX_MULTI} addresses per request")
        now = self.clock()
        known = self.world.pool_by_address
        pools = [known[a] for a in wanted if a in known and self.fates.exists(known[a], now)]
        return self._pool_list(pools, req.query, now)

    def pool(self, req: Request) -> dict:
        pool = self._pool(req.args[1])
        body = self._pool_list([pool], req.query, self.clock())
        body["data"] = body["data"][0]
        return body

    def _top_pools(self, token: Token, now: float) -> list:
        pools = sorted(
            (
                p
                for p in self.world.pools_by_token.get(token.address, ())
                if self.fates.exists(p, now)
            ),
            key=lambda p: (-p.reserve_usd, p.address),
        )[:TOP_POOLS]
        return [(p, self.stats.get(p, now)) for p in pools]

    def token(self, req: Request) -> dict:
        token = self._token(req.args[1])
        now = self.clock()
        top = self._top_pools(token, now)
        body: dict = {"data": token_market_resource(self.world.network, token, top, now)}
        include = _includes(req.query)
        if include is not None:
            net = self.world.network
            body["included"] = (
                [pool_resource(net, p, s, now) for p, s in top] if "top_pools" in include else []
            )
        return body

    def token_info(self, req: Request) -> dict:
        token = self._token(req.args[1])
        return {"data": token_info_resource(self.world, token, self.clock())}

    def ohlcv(self, req: Request) -> dict:
        pool = self._pool(req.args[1])
        q = req.query
        if req.args[2] not in TIMEFRAMES:
            raise ApiError(400, "Bad Request", "timeframe must be day, hour or minute")
        unit, allowed = TIMEFRAMES[req.args[2]]
        aggregate = _int(q, "aggregate", 1)
        if aggregate not in allowed:
            raise ApiError(400, "Bad Request", f"aggregate must be one of {list(allowed)}")
        limit = min(MAX_LIMIT, max(1, _int(q, "limit", DEFAULT_LIMIT) or 1))
        currency = q.get("currency") or "usd"
        if currency not in ("usd", "token"):
            raise ApiError(400, "Bad Request", "currency must be usd or token")
        side = q.get("token") or "base"
        side = {pool.base.address: "base", pool.quote.address: "quote"}.get(side, side)
        if side not in ("base", "quote"):
            raise ApiError(400, "Bad Request", "token must be base, quote or a pool token")
        query = CandleQuery(
            minutes=unit * aggregate,
            before=_int(q, "before_timestamp", None),
            limit=limit,
            currency=currency,
            side=side,
            include_empty=(q.get("include_empty_intervals") or "").lower() == "true",
        )
        rows = self.candles.ohlcv(pool, query, self.clock())
        first, second = (pool.base, pool.quote) if side == "base" else (pool.quote, pool.base)
        return {
            "data": {
                "id": req.request_id,
                "type": "ohlcv_request_response",
                "attributes": {"ohlcv_list": rows},
            },
            "meta": {"base": _meta(first), "quote": _meta(second)},
        }

    def trades(self, req: Request) -> dict:
        pool = self._pool(req.args[1])
        raw = req.query.get("trade_volume_in_usd_greater_than") or "0"
        try:
            threshold = Decimal(raw)
        except InvalidOperation:
            raise ApiError(400, "Bad Request", "trade_volume_in_usd_greater_than") from None
        if not threshold.is_finite():
            raise ApiError(400, "Bad Request", "trade_volume_in_usd_greater_than")
        data = self.trade_book.trades(pool, self.clock(), threshold, self.world.network)
        return {"data": data}


def _meta(token: Token) -> dict:
    return {
        "address": token.address,
        "name": token.name,
        "symbol": token.symbol,
        "coingecko_coin_id": token.coingecko_coin_id,
    }
