"""Keyset cursor pagination on a composite, unique ordering.

DRF's CursorPagination keeps only the *first* ordering field in its cursor and steps over
equal values with an offset it caps at 1000 (``offset_cutoff``). Candles are ordered on their
natural key ``(pool, timeframe, ts)``: thousands of rows share a pool, so that cursor would
page by offset and, past the cap, repeat rows. This cursor carries the value of *every*
ordering field of the page's edge row and continues with one row comparison,
``(pool_id, timeframe, ts) > (…)``, which PostgreSQL answers from the unique index that
starts with the same columns: each page costs the same however deep it is.

All ordering fields go the same direction (a row comparison has one direction); together
they must be unique, so every row is returned exactly once.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import F, Model, QuerySet
from django.db.models.fields.tuple_lookups import TupleGreaterThan, TupleLessThan
from rest_framework.exceptions import NotFound
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import replace_query_param

CURSOR_PARAM = "cursor"
PAGE_SIZE_PARAM = "page_size"


class KeysetCursorPagination(BasePagination):
    """``{"next": url|null, "previous": url|null, "results": […]}``; the view's ``ordering``
    (a tuple of field names, all ascending or all ``-`` descending) must be unique."""

    page_size = api_settings.PAGE_SIZE or 500
    max_page_size = 5000
    invalid_cursor_message = "Invalid cursor"

    def paginate_queryset(self, queryset: QuerySet, request: Request, view=None) -> list[Model]:
        self.request = request
        self.fields, self.descending = _ordering(view)
        size = self.get_page_size(request)
        model = queryset.model
        columns = [_column(model, name) for name in self.fields]
        cursor = self._decode(request)
        backwards = cursor is not None and cursor["d"] == "prev"
        # Walking backwards is walking the reversed order forwards, then flipping the page.
        reverse = self.descending != backwards
        if cursor is not None:
            values = [
                _load(model, name, v) for name, v in zip(self.fields, cursor["v"], strict=True)
            ]
            lookup = TupleLessThan if reverse else TupleGreaterThan
            queryset = queryset.filter(lookup(tuple(F(c) for c in columns), tuple(values)))
        order = [f"-{c}" if reverse else c for c in columns]
        rows = list(queryset.order_by(*order)[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        if backwards:
            rows.reverse()
        self.page = rows
        self.has_next = more if not backwards else True
        self.has_previous = (cursor is not None) if not backwards else more
        return rows

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(PAGE_SIZE_PARAM)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            return self.page_size
        return max(1, min(size, self.max_page_size))

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        )

    def get_next_link(self) -> str | None:
        if not self.has_next or not self.page:
            return None
        return self._link("next", self.page[-1])

    def get_previous_link(self) -> str | None:
        if not self.has_previous or not self.page:
            return None
        return self._link("prev", self.page[0])

    def _link(self, direction: str, row: Model) -> str:
        values = [_dump(_value(row, name)) for name in self.fields]
        token = json.dumps({"d": direction, "v": values}, separators=(",", ":"))
        encoded = base64.urlsafe_b64encode(token.encode()).decode()
        url = self.request.build_absolute_uri()
        return replace_query_param(url, CURSOR_PARAM, encoded)

    def _decode(self, request: Request) -> dict | None:
        raw = request.query_params.get(CURSOR_PARAM)
        if raw is None:
            return None
        try:
            cursor = json.loads(base64.urlsafe_b64decode(raw.encode()))
            valid = (
                cursor["d"] in ("next", "prev")
                and isinstance(cursor["v"], list)
                and len(cursor["v"]) == len(self.fields)
            )
        except (ValueError, TypeError, KeyError):
            valid = False
        if not valid:
            raise NotFound(self.invalid_cursor_message)
        return cursor

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": CURSOR_PARAM,
                "required": False,
                "in": "query",
                "description": "The pagination cursor value (from `next` or `previous`).",
                "schema": {"type": "string"},
            },
            {
                "name": PAGE_SIZE_PARAM,
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {self.page_size}, "
                f"at most {self.max_page_size}).",
                "schema": {"type": "integer"},
            },
        ]

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }


def _ordering(view) -> tuple[tuple[str, ...], bool]:
    ordering = tuple(getattr(view, "ordering", None) or ())
    if not ordering:
        raise ValueError(f"{type(view).__name__} needs an `ordering` for keyset pagination")
    descending = {name.startswith("-") for name in ordering}
    if len(descending) != 1:
        raise ValueError(f"{type(view).__name__}.ordering must go one direction: {ordering}")
    return tuple(name.lstrip("-") for name in ordering), descending.pop()


def _column(model: type[Model], name: str) -> str:
    """The concrete column attribute for ``name`` (``pool`` -> ``pool_id``)."""
    try:
        return model._meta.get_field(name).attname
    except FieldDoesNotExist:
        return name


def _value(row: Model, name: str) -> Any:
    return getattr(row, _column(type(row), name))


def _dump(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _load(model: type[Model], name: str, value: Any) -> Any:
    """The cursor's value as the field's Python type; a tampered cursor is a 404, not a 500."""
    if isinstance(value, dict | list):
        raise NotFound(KeysetCursorPagination.invalid_cursor_message)
    try:
        return model._meta.get_field(name).to_python(value)
    except (FieldDoesNotExist, ValidationError) as exc:
        raise NotFound(KeysetCursorPagination.invalid_cursor_message) from exc
