"""Serializer fields for the API's money values."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field({"type": "string", "format": "decimal", "example": "0.000012345678901234"})
class ExactDecimalSerializerField(serializers.DecimalField):
    """An ExactDecimalField as the exact decimal string stored: never a float, never quantized.

    ``format(value, "f")`` writes every stored digit in plain notation ("1.0" stays "1.0",
    1E-70 is written out), so a client's Decimal(text) equals the database value.
    """

    def __init__(self, **kwargs) -> None:
        kwargs["max_digits"] = None
        kwargs["decimal_places"] = None
        kwargs["coerce_to_string"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Decimal | None) -> str | None:
        if value is None:
            return None
        return format(value if isinstance(value, Decimal) else Decimal(str(value)), "f")
