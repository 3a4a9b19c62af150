"""The one door to GeckoTerminal: every request from every process passes through here.

Each attempt takes a token from the shared Redis bucket (collectors.gecko.ratelimit), asks the
shared circuit breaker (collectors.gecko.breaker), sends the request with the geckoterminal-py
SDK's HTTP session, and parses the raw JSON with collectors.gecko.parse. 429/5xx/timeouts/connection
errors are retried with exponential backoff and full jitter (tenacity); a 429 puts the whole
fleet's bucket on cooldown. Only ``base_url`` (settings.GECKO_API_URL) decides whether this
talks to the real API or to the simulator; the bucket and breaker are that target's own
(collectors.gecko.target), so a client for another API never touches the fleet's.

On CoinGecko's keyed plans (settings.GECKO_API_PLAN demo or pro) every request carries the key
in the plan's header, and only requests to settings.GECKO_API_URL do: a client built for any
other base URL sends no key. The key never appears in a log line, an error or a repr.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from django.conf import settings
from geckoterminal_py import GeckoTerminalSyncClient
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from collectors.gecko import parse
from collectors.gecko.breaker import CircuitBreaker
from collectors.gecko.credit import MonthlyCalls
from collectors.gecko.errors import (
    ApiErrorBody,
    ClientError,
    GeckoError,
    InvalidJSON,
    MustWait,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    Unreachable,
)
from collectors.gecko.ratelimit import Lane, RateLimiter
from collectors.gecko.records import (
    DexRecord,
    OhlcvPage,
    PoolPage,
    TokenInfoRecord,
    TokenRecord,
    TradeRecord,
)
from collectors.gecko.target import target_id

logger = logging.getLogger(__name__)
T = TypeVar("T")

# timeframe → (path segment, aggregate), as the API spells them.
OHLCV_PERIODS: dict[str, tuple[str, int]] = {
    "1m": ("minute", 1),
    "5m": ("minute", 5),
    "15m": ("minute", 15),
    "1h": ("hour", 1),
    "4h": ("hour", 4),
    "12h": ("hour", 12),
    "1d": ("day", 1),
}
MULTI_MAX = 30
MAX_PAGES = 10
OHLCV_MAX_LIMIT = 1000
LAST_ERRORS = 3  # error texts a CallStats keeps for the run's detail
KEY_HEADERS = {"demo": "x-cg-demo-api-key", "pro": "x-cg-pro-api-key"}


def auth_headers(base_url: str) -> dict[str, str]:
    """The plan's key header, for the configured API base URL only."""
    header = KEY_HEADERS.get(settings.GECKO_API_PLAN)
    key = settings.GECKO_API_KEY
    if not header or not key or base_url.rstrip("/") != settings.GECKO_API_URL.rstrip("/"):
        return {}
    return {header: key}


@dataclass
class CallStats:
    """What one client spent: recorded on CollectionRun rows."""

    calls: int = 0
    retries: int = 0
    throttled: int = 0
    errors: int = 0  # calls that went out and failed, whatever the error
    last_errors: list[str] = field(default_factory=list)  # the texts of the last few

    def failed(self, error: Exception) -> None:
        self.errors += 1
        self.last_errors = [*self.last_errors, str(error)][-LAST_ERRORS:]


class GeckoClient:
    """Typed access to the GeckoTerminal v2 endpoints the project uses.

    ``lane`` picks the bucket lane (``live`` or ``backfill``). ``max_wait`` is how long one
    call may sleep for a token or a breaker; past it the call raises MustWait so a Celery task
    can retry later with a countdown. ``max_wait=None`` blocks (management commands).
    ``transport`` replaces the HTTP transport only (bench/replay.py serves the simulator
    in-process with it); everything above the socket stays the same. ``fail_fast``
    (management commands) raises Unreachable, unretried, when the target cannot be resolved
    or connected to before it has answered once: a wrong target ends the command in seconds.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        network: str | None = None,
        lane: Lane = "live",
        limiter: RateLimiter | None = None,
        breaker: CircuitBreaker | None = None,
        timeout: float | None = None,
        attempts: int | None = None,
        backoff: float | None = None,
        backoff_max: float | None = None,
        max_wait: float | None = 5.0,
        transport: httpx.BaseTransport | None = None,
        fail_fast: bool = False,
    ) -> None:
        self.base_url = (base_url or settings.GECKO_API_URL).rstrip("/")
        self.network = network or settings.GECKO_NETWORK
        self.lane = lane
        self.limiter = limiter or RateLimiter(target=self.base_url)
        self.breaker = breaker or CircuitBreaker(target=self.base_url)
        self.attempts = attempts or settings.GECKO_RETRY_ATTEMPTS
        self.backoff = settings.GECKO_RETRY_BACKOFF if backoff is None else backoff
        self.backoff_max = settings.GECKO_RETRY_BACKOFF_MAX if backoff_max is None else backoff_max
        self.max_wait = max_wait
        self.fail_fast = fail_fast
        self._answered = False  # the target has answered a request of this client
        self.stats = CallStats()
        self.month = MonthlyCalls(self.limiter.client)
        # Only calls to the configured API spend its monthly credit (and carry its key).
        self._counted = target_id(self.base_url) == target_id(settings.GECKO_API_URL)
        self._trial: str | None = None
        # The SDK's session carries its Accept/version header; its wrappers return DataFrames
        # that drop fields we store (meta, windows, included), so we parse raw JSON ourselves.
        self._sdk = GeckoTerminalSyncClient(transport)
        self._sdk.base_url = self.base_url
        self._sdk.client.timeout = httpx.Timeout(timeout or settings.GECKO_HTTP_TIMEOUT)
        self._auth = auth_headers(self.base_url)

    def __repr__(self) -> str:
        keyed = "keyed" if self._auth else "keyless"
        return f"<GeckoClient {self.base_url} {self.network} lane={self.lane} {keyed}>"

    def close(self) -> None:
        self._sdk.close()

    def __enter__(self) -> GeckoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- endpoints ---------------------------------------------------------------------------

    def dexes(self) -> list[DexRecord]:
        """Every DEX of the network, following ``links.next`` (the SDK reads page 1 only)."""
        dexes: list[DexRecord] = []
        for page in range(1, MAX_PAGES + 1):
            body = self._get("dexes", f"networks/{self.network}/dexes", {"page": page})
            records, next_url = parse.parse_dexes(body)
            dexes.extend(records)
            if not records or not next_url:
                break
        return dexes

    def top_pools(self, dex: str, page: int = 1) -> PoolPage:
        """One page (20) of a DEX's top pools with tokens; the SDK has no page or include."""
        if not 1 <= page <= MAX_PAGES:
            raise ValueError(f"top_pools: page {page} is outside 1..{MAX_PAGES}")
        path = f"networks/{self.network}/dexes/{dex}/pools"
        params = {"page": page, "include": "base_token,quote_token,dex"}
        body = self._get("top_pools", path, params)
        return parse.parse_pool_list(body, self.network, endpoint="top_pools")

    def pools_multi(self, addresses: list[str]) -> PoolPage:
        """Up to 30 pools in one call; unknown addresses are silently missing from the answer."""
        if not 1 <= len(addresses) <= MULTI_MAX:
            raise ValueError(f"pools_multi: {len(addresses)} addresses; give 1..{MULTI_MAX}")
        path = f"networks/{self.network}/pools/multi/{','.join(addresses)}"
        body = self._get("multi_pools", path, {"include": "base_token,quote_token,dex"})
        return parse.parse_pool_list(body, self.network, endpoint="multi_pools")

    def pool(self, address: str) -> PoolPage:
        """One pool (the SDK's sync single-pool call always crashes)."""
        path = f"networks/{self.network}/pools/{address}"
        body = self._get("pool", path, {"include": "base_token,quote_token,dex"})
        return parse.parse_pool(body, self.network)

    def token(self, address: str) -> TokenRecord:
        body = self._get("token", f"networks/{self.network}/tokens/{address}", None)
        return parse.parse_token(body, self.network)

    def token_info(self, address: str) -> TokenInfoRecord:
        """Token metadata from ``/info``, which the SDK does not wrap."""
        body = self._get("token_info", f"networks/{self.network}/tokens/{address}/info", None)
        return parse.parse_token_info(body, self.network)

    def ohlcv(
        self,
        pool_address: str,
        timeframe: str,
        *,
        before_timestamp: int | None = None,
        limit: int = OHLCV_MAX_LIMIT,
        include_empty_intervals: bool = False,
        currency: str = "usd",
        token: str = "base",  # noqa: S107  (the API parameter, not a secret)
    ) -> OhlcvPage:
        """Candles newest first; ``before_timestamp`` is inclusive. Direct: the SDK drops
        ``meta``, re-sorts, ignores ``before_timestamp=0`` and has no include_empty_intervals."""
        if timeframe not in OHLCV_PERIODS:
            raise ValueError(
                f"ohlcv: timeframe {timeframe!r}; use one of {', '.join(OHLCV_PERIODS)}"
            )
        if not 1 <= limit <= OHLCV_MAX_LIMIT:
            raise ValueError(f"ohlcv: limit {limit} is outside 1..{OHLCV_MAX_LIMIT}")
        period, aggregate = OHLCV_PERIODS[timeframe]
        params: dict[str, Any] = {
            "aggregate": aggregate,
            "limit": limit,
            "currency": currency,
            "token": token,
            "include_empty_intervals": "true" if include_empty_intervals else "false",
        }
        if before_timestamp is not None:
            params["before_timestamp"] = int(before_timestamp)
        path = f"networks/{self.network}/pools/{pool_address}/ohlcv/{period}"
        return parse.parse_ohlcv(self._get("ohlcv", path, params))

    def trades(self, pool_address: str, *, min_volume_usd: float | str = 0) -> list[TradeRecord]:
        """The API's last ≤300 trades of the past 24 h above ``min_volume_usd``, newest first.
        Direct: the sync SDK has no trades call, and the async one sends an empty filter."""
        path = f"networks/{self.network}/pools/{pool_address}/trades"
        params = {"trade_volume_in_usd_greater_than": str(min_volume_usd)}
        return parse.parse_trades(self._get("trades", path, params), self.network)

    def key_figures(self) -> dict[str, Any]:
        """A paid plan's own figures from ``GET /api/v3/key`` (rate, monthly credit, calls left).

        The one endpoint outside ``/onchain``; it counts against the budget like any call."""
        if not self._auth:
            raise ValueError("key_figures: no API key is configured for this base URL")
        root = self.base_url.removesuffix("/onchain")
        body = self._get("key", "key", None, base=root)
        if not isinstance(body, dict):
            raise ValueError("key: the answer is not an object")
        return body

    # --- the door ----------------------------------------------------------------------------

    def _get(
        self, endpoint: str, path: str, params: dict[str, Any] | None, *, base: str | None = None
    ) -> Any:
        retrying = Retrying(
            retry=retry_if_exception(_is_retryable),
            stop=stop_after_attempt(self.attempts),
            wait=self._backoff,
            before_sleep=self._log_retry,
            reraise=True,
        )
        return retrying(self._attempt, endpoint, path, params, base or self.base_url)

    def _backoff(self, state: RetryCallState) -> float:
        """Full jitter; after a 429 the bucket's cooldown is the wait, so add none here."""
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimited) or (
            isinstance(error, ApiErrorBody) and error.is_rate_limited
        ):
            return 0.0
        return wait_random_exponential(multiplier=self.backoff, max=self.backoff_max)(state)

    def _log_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        error = state.outcome.exception() if state.outcome else None
        logger.warning("gecko retry %d/%d: %s", state.attempt_number, self.attempts, error)

    def _attempt(self, endpoint: str, path: str, params: dict[str, Any] | None, base: str) -> Any:
        self._trial = None
        self._wait_for(endpoint, self._breaker_wait)
        try:
            self._wait_for(endpoint, self._token_wait)
        except BaseException:
            # No call goes: a half-open trial held through a MustWait would refuse the whole
            # fleet until its lease ran out.
            if self._trial is not None:
                self.breaker.release_trial(self._trial)
            raise
        self.stats.calls += 1
        if self._counted:
            self.month.count()  # every request spends monthly credit, a refused one too
        try:
            return self._send(endpoint, path, params, base)
        except (GeckoError, Unreachable) as exc:
            self.stats.failed(exc)
            raise

    def _send(self, endpoint: str, path: str, params: dict[str, Any] | None, base: str) -> Any:
        try:
            response = self._sdk.client.get(f"{base}/{path}", params=params, headers=self._auth)
        except httpx.TransportError as exc:
            connect = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            if connect and self.fail_fast and not self._answered:
                # One failed connect of one command is no evidence for the fleet's breaker.
                raise Unreachable(self.base_url, str(exc) or type(exc).__name__) from exc
            self.breaker.record_failure()
            what = "timed out" if isinstance(exc, httpx.TimeoutException) else "connection failed"
            raise TransportError(f"{endpoint}: {what} ({exc})", endpoint=endpoint) from exc
        self._answered = True
        try:
            body = self._check(endpoint, response)
        except (ServerError, InvalidJSON):
            self.breaker.record_failure()
            raise
        except (RateLimited, ApiErrorBody) as exc:
            if isinstance(exc, RateLimited) or exc.is_rate_limited:
                self._throttled(exc)
                self._give_back_trial()
            elif exc.retryable:
                self.breaker.record_failure()
            else:
                self._give_back_trial()
            raise
        self.breaker.record_success()
        return body

    def _check(self, endpoint: str, response: httpx.Response) -> Any:
        status = response.status_code
        if status == 429:
            raise RateLimited(_retry_after(response), endpoint=endpoint, detail=_title(response))
        if status >= 500:
            raise ServerError(status, endpoint=endpoint, detail=_title(response))
        if status == 404:
            self.breaker.record_success()
            raise NotFound(endpoint=endpoint, detail=_title(response))
        if status >= 400:
            self.breaker.record_success()
            raise ClientError(status, endpoint=endpoint, detail=_title(response))
        body = parse.loads(response.content, endpoint)
        if endpoint == "key":  # a plain object, not a JSON:API document
            error = parse.api_error(body, endpoint)
            if error is not None:
                raise error
            return body
        return parse.check_envelope(body, endpoint)

    def _throttled(self, exc: GeckoError) -> None:
        self.stats.throttled += 1
        retry_after = getattr(exc, "retry_after", None)
        cooldown = self.limiter.penalize(retry_after)
        logger.warning("gecko throttled (%s); whole bucket cools down %.0fs", exc, cooldown)

    def _give_back_trial(self) -> None:
        """An answer that says nothing of an outage (a 429: the bucket's cooldown is the wait)
        ends a half-open trial without a verdict; kept, it would refuse the fleet for its lease."""
        if self._trial is not None:
            self.breaker.release_trial(self._trial)
            self._trial = None

    def _breaker_wait(self) -> float:
        permit = self.breaker.acquire()
        self._trial = permit.trial
        return 0.0 if permit.allowed else max(permit.retry_in, 0.05)

    def _token_wait(self) -> float:
        grant = self.limiter.acquire(self.lane)
        return 0.0 if grant.granted else grant.wait

    def _wait_for(self, endpoint: str, probe: Callable[[], float]) -> None:
        """Sleep while ``probe`` says wait, up to ``max_wait`` in all; then raise MustWait."""
        waited = 0.0
        while (wait := probe()) > 0:
            if self.max_wait is not None and waited + wait > self.max_wait:
                why = "circuit open" if probe == self._breaker_wait else "rate limit"
                raise MustWait(wait, endpoint=endpoint, why=why)
            time.sleep(wait)
            waited += wait


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, GeckoError) and not isinstance(exc, MustWait) and bool(exc.retryable)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def _title(response: httpx.Response) -> str:
    """The error document's title, if the body is one; never raises."""
    try:
        error = parse.api_error(response.json(), "status")
    except ValueError:
        return ""
    return (error.title or error.message or "") if error else ""
