"""Every action of every registered ModelAdmin declares the permissions it needs, so staff who
may only view are neither offered it nor able to run it by posting its name.

Each action is posted to its changelist, with a row selected (and confirmed, for actions that
ask first), by a staff user holding every view permission and nothing else; afterwards every
registered table and the Celery queues are exactly as before. Real PostgreSQL and Redis.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission, User
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from marketdata.models import Gap, HistoryStart
from tests.admin_rows import one_of_everything  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_of_everything")]

QUEUES = ("default", "api", "celery")


def every_action() -> list[tuple[type, str]]:
    return sorted(
        (
            (model, name)
            for model, model_admin in admin.site._registry.items()
            for _, name, _ in model_admin._get_base_actions()
        ),
        key=lambda pair: (pair[0]._meta.label, pair[1]),
    )


def action_id(value) -> str:
    return value._meta.label if isinstance(value, type) else value


@pytest.fixture
def viewer() -> User:
    user = User.objects.create_user("view-only", password="x", is_staff=True)
    codenames = [f"view_{model._meta.model_name}" for model in admin.site._registry]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)  # a fresh object: no cached permissions


@pytest.fixture
def unfillable_gap():
    """What a view-only user was seen re-opening."""
    gap = Gap.objects.select_related("pool").get()
    return Gap.objects.create(
        pool=gap.pool,
        timeframe="1h",
        start=gap.start,
        end=gap.end,
        status=Gap.Status.UNFILLABLE,
        reason="older than the API keeps",
        attempts=3,
        resolved_at=timezone.now(),
    )


def request_as(user: User):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def everything(redis_client) -> dict:
    """Every registered table's rows and the queues' lengths: what an action could change."""
    rows = {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for model in admin.site._registry
    }
    return {"rows": rows, "queues": {q: redis_client.llen(q) for q in QUEUES}}


@pytest.mark.parametrize(("model", "action"), every_action(), ids=action_id)
def test_a_view_only_user_is_not_offered_the_action_and_cannot_run_it(
    model, action, viewer, unfillable_gap, redis_client
):
    model_admin = admin.site._registry[model]
    func = model_admin.get_action(action)[0]
    assert getattr(func, "allowed_permissions", ()), f"{action} declares no permissions"
    assert model_admin.has_view_permission(request_as(viewer))
    assert action not in model_admin.get_actions(request_as(viewer))
    row = model._default_manager.order_by("pk").first()
    assert row is not None, f"tests/admin_rows.py made no {model._meta.label} to select"
    client = Client()
    client.force_login(viewer)  # before the snapshot: logging in stamps last_login
    before = everything(redis_client)

    response = client.post(
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"),
        {
            "action": action,
            ACTION_CHECKBOX_NAME: [row.pk, unfillable_gap.pk] if model is Gap else [row.pk],
            "index": 0,
            "confirm": "yes",
            "days": 7,
            "post": "yes",
        },
    )

    assert response.status_code in (200, 302, 403)
    assert everything(redis_client) == before, f"{action} changed something for a view-only user"


@pytest.mark.parametrize(
    ("model", "action"),
    [(m, a) for m, a in every_action() if a != "delete_selected"],
    ids=action_id,
)
def test_a_superuser_is_offered_the_action(model, action, admin_user):
    """The permissions are not so strict that nobody may act."""
    assert action in admin.site._registry[model].get_actions(request_as(admin_user))


def test_deleting_a_history_start_takes_its_delete_permission(viewer):
    model_admin = admin.site._registry[HistoryStart]
    viewer.user_permissions.add(Permission.objects.get(codename="delete_historystart"))
    user = User.objects.get(pk=viewer.pk)

    assert "delete_selected" in model_admin.get_actions(request_as(user))
