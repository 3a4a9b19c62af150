"""URL routes: the admin (login required) and its Data health page, the read API and its
schema, /healthz and /favicon.ico."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from collectors.api import CollectionRunViewSet
from marketdata.api import views as marketdata_api
from marketdata.data_health import data_health

from . import api_docs
from .favicon import favicon
from .health import healthz

# The read API's routes; tests check the schema lists exactly these.
api_v1 = DefaultRouter(trailing_slash=True)
api_v1.APIRootView = api_docs.ApiRootView
api_v1.register("pools", marketdata_api.PoolViewSet, basename="pool")
api_v1.register("tokens", marketdata_api.TokenViewSet, basename="token")
api_v1.register("candles", marketdata_api.CandleViewSet, basename="candle")
api_v1.register("trades", marketdata_api.TradeViewSet, basename="trade")
api_v1.register("gaps", marketdata_api.GapViewSet, basename="gap")
api_v1.register("runs", CollectionRunViewSet, basename="run")

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("admin/data-health/", admin.site.admin_view(data_health), name="data-health"),
    # Bars are listed through models.CandleRow since they lost their id (issue 17); old
    # bookmarks of the candle list still work.
    path(
        "admin/marketdata/candle/",
        RedirectView.as_view(url="/admin/marketdata/candlerow/", permanent=True, query_string=True),
    ),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("api/v1/", include(api_v1.urls)),
    path("api/schema/", api_docs.schema, name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
