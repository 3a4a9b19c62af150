"""The generic half of the normalisation layer: JSON decoding, the error-document check, id
prefixes, and :class:`Node`, the one way to read a field.

Why a ``Node``: every read of a required field must fail as a :class:`PayloadError` naming the
endpoint, the path and the expected type, never as a bare ``KeyError``/``TypeError``. Presence and
nullability are separate: ``node["k"]`` requires the key, ``node.get("k")`` reads a missing key
as null; ``text()``/``integer()``/... reject null, their ``opt_`` twins accept it.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from collectors.gecko.errors import ApiErrorBody, InvalidJSON, PayloadError
from collectors.gecko.records import TradeIdParts

_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NON_FINITE = frozenset({"nan", "inf", "infinity"})
_SNIPPET = 80
# Bounds that keep a value storable: PostgreSQL bigint, and money beyond any real amount
# (a NUMERIC that large is a corrupt value, and could overflow the column).
_INT64 = 2**63
_MONEY_MAX_EXPONENT = 80


def describe(value: Any) -> str:
    """A short, JSON-flavoured rendering of a bad value for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    text = repr(value)
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 3] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Node:
    """A value inside a decoded body, with the endpoint and path needed to report it."""

    __slots__ = ("endpoint", "path", "value")

    def __init__(self, value: Any, endpoint: str, path: str = "") -> None:
        self.value = value
        self.endpoint = endpoint
        self.path = path

    def error(self, problem: str) -> PayloadError:
        return PayloadError(self.endpoint, self.path, problem)

    def expected(self, what: str) -> PayloadError:
        return self.error(f"expected {what}, got {describe(self.value)}")

    @property
    def is_null(self) -> bool:
        return self.value is None

    def _child(self, value: Any, key: str | int) -> Node:
        if isinstance(key, int):
            return Node(value, self.endpoint, f"{self.path}[{key}]")
        return Node(value, self.endpoint, f"{self.path}.{key}" if self.path else key)

    def __getitem__(self, key: str) -> Node:
        """A required member: absent is an error; null is left to the typed reader."""
        obj = self.obj()
        if key not in obj:
            raise self._child(None, key).error("required field is missing")
        return self._child(obj[key], key)

    def get(self, key: str) -> Node:
        """An optional member: absent (or a null parent) reads as null."""
        if self.value is None:
            return self._child(None, key)
        return self._child(self.obj().get(key), key)

    def obj(self) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            raise self.expected("object")
        return self.value

    def members(self) -> list[tuple[str, Node]]:
        return [(key, self._child(value, key)) for key, value in self.obj().items()]

    def opt_members(self) -> list[tuple[str, Node]]:
        return [] if self.value is None else self.members()

    def elements(self) -> list[Node]:
        if not isinstance(self.value, list):
            raise self.expected("array")
        return [self._child(value, index) for index, value in enumerate(self.value)]

    def opt_elements(self) -> list[Node]:
        return [] if self.value is None else self.elements()

    def text(self, *, non_empty: bool = False) -> str:
        if not isinstance(self.value, str) or (non_empty and not self.value):
            raise self.expected("non-empty string" if non_empty else "string")
        return self.value

    def opt_text(self) -> str | None:
        return None if self.value is None else self.text()

    def integer(self) -> int:
        if not _is_int(self.value):
            raise self.expected("integer")
        if not -_INT64 <= self.value < _INT64:
            raise self.expected("integer within 64 bits")
        return self.value

    def opt_integer(self) -> int | None:
        return None if self.value is None else self.integer()

    def number(self) -> float:
        try:
            value = float(self.value) if _is_number(self.value) else math.nan
        except OverflowError:
            value = math.nan
        if not math.isfinite(value):
            raise self.expected("number")
        return value

    def opt_number(self) -> float | None:
        return None if self.value is None else self.number()

    def opt_flag(self) -> bool | None:
        if self.value is not None and not isinstance(self.value, bool):
            raise self.expected("boolean")
        return self.value

    def opt_text_or_flag(self) -> str | bool | None:
        if self.value is not None and not isinstance(self.value, str | bool):
            raise self.expected("string or boolean")
        return self.value

    def money(self, *, lenient: bool = False) -> Decimal | None:
        """A decimal string, exact; null and "NaN"/"Infinity" mean "no value" (None).

        ``lenient`` also takes JSON numbers, for beta fields whose typing is undocumented.
        """
        value = self.value
        if value is None:
            return None
        if lenient and _is_int(value):
            number = Decimal(value)
        elif lenient and _is_number(value):
            if not math.isfinite(value):
                return None
            number = Decimal(repr(value))
        elif not isinstance(value, str):
            raise self.expected("decimal string")
        elif value.lstrip("+-").lower() in _NON_FINITE:
            return None
        elif not _DECIMAL.fullmatch(value):
            raise self.expected("decimal string")
        else:
            number = Decimal(value)
        # Far beyond any real amount: a corrupt value, read as "no value" like "NaN".
        return None if number and number.adjusted() > _MONEY_MAX_EXPONENT else number

    def moment(self) -> datetime:
        """ISO-8601 with a zone (``...Z``), or epoch seconds as int or digit string; aware UTC."""
        value = self.value
        try:
            if _is_int(value) or (isinstance(value, str) and value.isdigit()):
                return datetime.fromtimestamp(int(value), UTC)
            if isinstance(value, str):
                parsed = datetime.fromisoformat(value)
                if parsed.tzinfo is not None:
                    return parsed.astimezone(UTC)
        except (ValueError, OverflowError, OSError):
            pass
        raise self.expected("ISO-8601 timestamp with zone or epoch seconds")

    def opt_moment(self) -> datetime | None:
        return None if self.value is None else self.moment()

    def epoch(self) -> datetime:
        """Epoch seconds that must be a JSON integer (OHLCV timestamps)."""
        if not _is_int(self.value):
            raise self.expected("integer epoch seconds")
        return self.moment()


def loads(raw: str | bytes | bytearray, endpoint: str) -> Any:
    """Decode a body; a truncated or non-JSON one (an HTML error page) becomes InvalidJSON."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        text = raw if isinstance(raw, str) else bytes(raw).decode("utf-8", "replace")
        snippet = text[:_SNIPPET] + ("..." if len(text) > _SNIPPET else "")
        raise InvalidJSON(
            endpoint, f"body is not valid JSON ({exc}; {len(text)} chars): {snippet!r}"
        ) from exc


def _code(value: Any) -> int | None:
    if _is_int(value):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def api_error(body: Any, endpoint: str) -> ApiErrorBody | None:
    """The error a body carries, or None. Usable by the client on any HTTP status.

    Shapes: JSON:API ``{"errors": [{"status", "title", "detail"}]}``, CoinGecko
    ``{"status": {"error_code", "error_message"}}`` and plain ``{"error": "..."}``; a body that
    also has ``data`` is not an error document.
    """
    if not isinstance(body, dict) or "data" in body:
        return None
    if "errors" in body:
        errors = body["errors"]
        first = errors[0] if isinstance(errors, list) and errors else errors
        if not isinstance(first, dict):
            return ApiErrorBody(endpoint, status=None, title=None, message=_str(first), body=body)
        return ApiErrorBody(
            endpoint,
            status=_code(first.get("status", first.get("code"))),
            title=_str(first.get("title")),
            message=_str(first.get("detail")),
            body=body,
        )
    status = body.get("status")
    if isinstance(status, dict) and "error_code" in status:
        return ApiErrorBody(
            endpoint,
            status=_code(status["error_code"]),
            title=None,
            message=_str(status.get("error_message")),
            body=body,
        )
    if isinstance(body.get("error"), str):
        return ApiErrorBody(endpoint, status=None, title=None, message=body["error"], body=body)
    return None


def check_envelope(body: Any, endpoint: str) -> dict[str, Any]:
    """Return the body if it is a data document; raise ApiErrorBody or PayloadError otherwise."""
    if not isinstance(body, dict):
        raise Node(body, endpoint).expected("object")
    error = api_error(body, endpoint)
    if error is not None:
        raise error
    if "data" not in body:
        raise PayloadError(endpoint, "data", "required field is missing")
    return body


def strip_network_prefix(
    resource_id: str, network: str, *, endpoint: str = "ids", path: str = "id"
) -> str:
    """``"polygon_pos_0xabc"`` → ``"0xabc"`` for network ``polygon_pos``; never ``split("_")``."""
    prefix = f"{network}_"
    if not isinstance(resource_id, str) or not resource_id.startswith(prefix):
        raise PayloadError(
            endpoint, path, f"expected id prefixed {prefix!r}, got {describe(resource_id)}"
        )
    rest = resource_id[len(prefix) :]
    if not rest:
        raise PayloadError(endpoint, path, f"id {resource_id!r} has nothing after its prefix")
    return rest


def strip_node(node: Node, network: str) -> str:
    """:func:`strip_network_prefix` on a node, reporting the node's endpoint and path."""
    return strip_network_prefix(node.text(), network, endpoint=node.endpoint, path=node.path)


def parse_trade_id(trade_id: str, network: str) -> TradeIdParts:
    """Split ``{network}_{block}_{tx_hash}_{index}_{unix_ts}``, anchored on the known network.

    Cutting the known prefix first, then the block from the left and index/ts from the right,
    is ``rsplit("_", 4)`` made safe for networks (``polygon_pos``) that contain ``_``.
    """
    rest = strip_network_prefix(trade_id, network, endpoint="trade_id", path=trade_id)
    head, _, tail = rest.partition("_")
    parts = tail.rsplit("_", 2)
    if len(parts) != 3 or not all(p.isdigit() for p in (head, parts[1], parts[2])) or not parts[0]:
        raise PayloadError(
            "trade_id", trade_id, "expected {network}_{block}_{tx_hash}_{index}_{unix_ts}"
        )
    return TradeIdParts(network, int(head), parts[0], int(parts[1]), int(parts[2]))
