"""The way from a browser to the API docs: the API root links them, and a browser opening the
schema (``Accept: text/html``, which the schema's YAML/JSON renderers would answer with 406)
is sent to them. Tools keep the YAML default and ``?format=json``."""

from __future__ import annotations

from django.shortcuts import redirect
from drf_spectacular.views import SpectacularAPIView
from rest_framework.reverse import reverse
from rest_framework.routers import APIRootView

_schema = SpectacularAPIView.as_view()


def schema(request, *args, **kwargs):
    wants_html = "text/html" in request.headers.get("Accept", "")
    if wants_html and "format" not in request.GET:
        return redirect("api-docs")
    return _schema(request, *args, **kwargs)


class ApiRootView(APIRootView):
    """The router's list of endpoints, plus the docs and the schema."""

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response.data["docs"] = reverse("api-docs", request=request)
        response.data["schema"] = reverse("schema", request=request)
        return response
