"""django_celery_beat's schedule admin, with permissions on its actions.

Its actions (enable, disable, toggle, run now) declare none, so staff who may only view the
schedules could run them; here each takes the right to change periodic tasks.
"""

from __future__ import annotations

from django.contrib import admin
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask


def _needs(permission: str, action):
    """``action`` (a ModelAdmin method) as an admin action that declares ``permission``."""

    def guarded(modeladmin, request, queryset):
        return action(modeladmin, request, queryset)

    guarded.__name__ = action.__name__
    return admin.action(description=action.short_description, permissions=[permission])(guarded)


class GuardedPeriodicTaskAdmin(PeriodicTaskAdmin):
    enable_tasks = _needs("change", PeriodicTaskAdmin.enable_tasks)
    disable_tasks = _needs("change", PeriodicTaskAdmin.disable_tasks)
    toggle_tasks = _needs("change", PeriodicTaskAdmin.toggle_tasks)
    run_tasks = _needs("change", PeriodicTaskAdmin.run_tasks)


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, GuardedPeriodicTaskAdmin)
