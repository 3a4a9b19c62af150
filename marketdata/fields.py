"""An exact decimal column: PostgreSQL NUMERIC with no precision or scale.

The API sends money as decimal strings of up to ~76 fractional digits. An unconstrained NUMERIC
keeps every digit *and* the scale it arrived with ("1.0" stays "1.0"), so what the API sent is
what we store. Django's DecimalField insists on max_digits/decimal_places and would quantize.
"""

from __future__ import annotations

from django import forms
from django.db import models


class ExactDecimalField(models.DecimalField):
    """DecimalField stored as bare ``numeric``; values are never quantized or rounded."""

    def __init__(self, *args, **kwargs):
        kwargs.pop("max_digits", None)
        kwargs.pop("decimal_places", None)
        super().__init__(*args, **kwargs)

    def check(self, **kwargs):
        return models.Field.check(self, **kwargs)

    @property
    def context(self):
        import decimal

        return decimal.Context(prec=100)

    @property
    def validators(self):
        return list(self.default_validators) + list(self._validators)

    def db_type(self, connection):
        return "numeric"

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("max_digits", None)
        kwargs.pop("decimal_places", None)
        return name, path, args, kwargs

    def formfield(self, **kwargs):
        return models.Field.formfield(self, **{"form_class": forms.DecimalField, **kwargs})


class PoolKey(models.ForeignKey):
    """A foreign key to a pool held in 4 bytes (``integer``), not the id's 8.

    On the bar table a pool id sits in every row and every key: 4 bytes fewer let the pool,
    the final flag and the timeframe share one 8-byte word. Pool ids are counted in
    thousands, far below 2**31; PostgreSQL compares integer and bigint keys directly.
    """

    def db_type(self, connection):
        return "integer"
