"""The OpenAPI schema lists exactly the router's paths, and only to logged-in callers."""

from __future__ import annotations

import re

import pytest
import yaml
from rest_framework.test import APIClient

from geckoproject.urls import api_v1

pytestmark = pytest.mark.django_db


def router_paths() -> set[str]:
    """The API paths from the router itself, written the OpenAPI way (``{id}``): a list for
    every viewset, and a detail route for those that retrieve one row."""
    paths = set()
    for prefix, viewset, _basename in api_v1.registry:
        paths.add(f"/api/v1/{prefix}/")
        if hasattr(viewset, "retrieve"):
            paths.add(f"/api/v1/{prefix}/{{id}}/")
    return paths


def test_the_schema_lists_every_api_path(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert set(schema["paths"]) == router_paths()
    assert len(router_paths()) == 11  # candles: a list, no detail (a bar has no id)
    assert "/api/v1/candles/" in router_paths()


def test_every_list_documents_its_filters_and_the_cursor(api):
    schema = api.get("/api/schema/?format=json").json()
    params = {
        path: {p["name"] for p in ops["get"].get("parameters", [])}
        for path, ops in schema["paths"].items()
        if not re.search(r"\{id\}", path)
    }
    assert {"pool", "pool_address", "timeframe", "since", "until", "cursor"} <= params[
        "/api/v1/candles/"
    ]
    assert {"pool", "since", "until", "cursor"} <= params["/api/v1/trades/"]
    assert {"pool", "timeframe", "status"} <= params["/api/v1/gaps/"]
    assert all("cursor" in names for names in params.values())


def test_the_schema_is_not_public():
    assert APIClient().get("/api/schema/").status_code in (401, 403)
