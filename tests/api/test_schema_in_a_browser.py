"""A browser opening the schema lands on the docs; tools still get YAML or JSON; the API root
links the docs."""

from __future__ import annotations

import pytest
import yaml
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def browser(api_user) -> APIClient:
    client = APIClient()
    client.force_login(api_user)
    return client


def test_a_browser_opening_the_schema_is_sent_to_the_docs(browser):
    response = browser.get("/api/schema/", HTTP_ACCEPT=BROWSER)
    assert response.status_code == 302
    assert response["Location"] == "/api/docs/"
    assert browser.get("/api/docs/", HTTP_ACCEPT=BROWSER).status_code == 200


def test_a_plain_html_accept_is_not_refused(browser):
    assert browser.get("/api/schema/", HTTP_ACCEPT="text/html").status_code == 302


def test_format_json_still_answers_a_browser_with_json(browser):
    response = browser.get("/api/schema/?format=json", HTTP_ACCEPT=BROWSER)
    assert response.status_code == 200
    assert "/api/v1/pools/" in response.json()["paths"]


@pytest.mark.parametrize("accept", [None, "*/*", "application/vnd.oai.openapi"])
def test_tools_still_get_yaml_by_default(api, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = api.get("/api/schema/", **headers)
    assert response.status_code == 200
    assert "/api/v1/pools/" in yaml.safe_load(response.content)["paths"]


def test_the_docs_page_fetches_a_schema_it_can_read(browser):
    """Swagger UI fetches its schema with an Accept naming JSON and YAML, never HTML."""
    response = browser.get("/api/schema/", HTTP_ACCEPT="application/json,*/*")
    assert response.status_code == 200 and "/api/v1/pools/" in response.json()["paths"]


def test_the_api_root_links_the_docs_and_the_schema(api):
    links = api.get("/api/v1/").json()
    assert links["docs"].endswith("/api/docs/")
    assert links["schema"].endswith("/api/schema/")
    assert links["pools"].endswith("/api/v1/pools/")
