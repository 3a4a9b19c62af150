"""Add forms for models whose defaults live in the database (``db_default``).

Django's admin knows nothing of them: a read-only ``added_at`` showed
``<DatabaseDefault object at 0x…>`` on the add page, an editable ``created_at`` was required
with nothing in it, and a ``source`` with a database default of "admin" had to be picked by
hand. Here the database fills in its own times on add, and a plain default is the initial value.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import NOT_PROVIDED
from django.db.models.expressions import BaseExpression


def filled_by_database(field) -> bool:
    """A field the database computes on insert (``db_default=Now()``): nothing to type."""
    return isinstance(getattr(field, "db_default", NOT_PROVIDED), BaseExpression)


class DatabaseDefaultsAdmin(admin.ModelAdmin):
    """On add: no fields the database computes; a plain ``db_default`` is the initial value."""

    def database_filled(self) -> set[str]:
        return {f.name for f in self.model._meta.concrete_fields if filled_by_database(f)}

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is None:
            filled = self.database_filled()
            fields = tuple(name for name in fields if name not in filled)
        return fields

    def get_exclude(self, request, obj=None):
        exclude = super().get_exclude(request, obj)
        if obj is None:
            exclude = (*(exclude or ()), *sorted(self.database_filled()))
        return exclude

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        default = getattr(db_field, "db_default", NOT_PROVIDED)
        if (
            formfield is not None
            and default is not NOT_PROVIDED
            and not isinstance(default, BaseExpression)
            and not db_field.has_default()
        ):
            formfield.initial = default
        return formfield
