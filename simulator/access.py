"""CoinGecko's keyed access: the key header, the plan's limits and its monthly call credit.

Without a key the simulator is the keyless public API. With one, every API request must carry
it in the plan's header (``x-cg-demo-api-key`` / ``x-cg-pro-api-key``) or query parameter,
else 401 with CoinGecko's error codes; every request with the key, failed and rate-limited
(429) ones included, spends one credit of the current UTC month (by the simulator's clock, so a
fast clock rolls months over).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    name: str
    header: str
    query_param: str
    rate_per_min: int
    monthly_credit: int


# Demo: 30/min and 10k calls a month. "pro" stands for a paid plan, here Analyst's figures.
PLANS = {
    "demo": Plan("Demo", "x-cg-demo-api-key", "x_cg_demo_api_key", 30, 10_000),
    "pro": Plan("Analyst", "x-cg-pro-api-key", "x_cg_pro_api_key", 500, 500_000),
}
MISSING = 10002
# A key of the other plan: a pro key at the demo host is 10010, a demo key at the pro host 10011.
WRONG_HOST = {"demo": 10010, "pro": 10011}


def coingecko_error(code: int, message: str) -> dict:
    return {"status": {"error_code": code, "error_message": message}}


def _month(ts: float) -> tuple[int, int]:
    t = time.gmtime(ts)
    return t.tm_year, t.tm_mon


class KeyGate:
    """Checks a request's key and keeps the plan's monthly credit."""

    def __init__(
        self,
        api_key: str | None,
        plan: str,
        clock: Callable[[], float],
        monthly_credit: int | None = None,
    ) -> None:
        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r}; expected one of {', '.join(PLANS)}")
        self.api_key = api_key or None
        self.plan_id = plan
        self.plan = PLANS[plan]
        self.monthly_credit = self.plan.monthly_credit if monthly_credit is None else monthly_credit
        self._clock = clock
        self._spent: Counter[tuple[int, int]] = Counter()
        self._lock = threading.Lock()

    @property
    def keyed(self) -> bool:
        return self.api_key is not None

    def refusal(self, headers: dict[str, str], query: dict[str, str]) -> dict | None:
        """The 401 body for a missing or wrong key, or None to admit the request."""
        if not self.keyed:
            return None
        given = headers.get(self.plan.header) or query.get(self.plan.query_param)
        if given == self.api_key:
            return None
        other = next(p for k, p in PLANS.items() if k != self.plan_id)
        if given is None and (headers.get(other.header) or query.get(other.query_param)):
            return coingecko_error(
                WRONG_HOST[self.plan_id],
                f"Invalid API Key: this server expects a {self.plan.name} key "
                f"in {self.plan.header}",
            )
        if given is None:
            where = f"{self.plan.header} or {self.plan.query_param}"
            return coingecko_error(MISSING, f"API Key Missing: pass it in {where}")
        return coingecko_error(MISSING, "You have provided incorrect API key credentials.")

    def spend(self) -> bool:
        """Count one call against this month's credit; False when the credit was already used."""
        if not self.keyed:
            return True
        month = _month(self._clock())
        with self._lock:
            if self._spent[month] >= self.monthly_credit:
                return False
            self._spent[month] += 1
        return True

    def usage(self, rate_per_min: int) -> dict:
        """``GET /api/v3/key``: the plan's figures and this month's calls."""
        with self._lock:
            spent = self._spent[_month(self._clock())]
        return {
            "plan": self.plan.name,
            "rate_limit_request_per_minute": rate_per_min or self.plan.rate_per_min,
            "monthly_call_credit": self.monthly_credit,
            "current_total_monthly_calls": spent,
            "current_remaining_monthly_calls": max(0, self.monthly_credit - spent),
        }

    def reset(self) -> None:
        with self._lock:
            self._spent.clear()
