"""Read-only API over CollectionRun: what ran, newest first, and what each run wrote."""

from __future__ import annotations

from django_filters import rest_framework as filters
from rest_framework import serializers, viewsets

from collectors.models import CollectionRun
from geckoproject.pagination import KeysetCursorPagination


class CollectionRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = CollectionRun
        fields = [
            "id",
            "task",
            "arguments",
            "status",
            "started_at",
            "finished_at",
            "items_written",
            "api_calls",
            "errors",
            "throttled",
            "detail",
            "correlation_id",
        ]
        read_only_fields = fields


class CollectionRunFilter(filters.FilterSet):
    task = filters.CharFilter()
    status = filters.ChoiceFilter(choices=CollectionRun.Status.choices)
    correlation_id = filters.CharFilter()
    since = filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = CollectionRun
        fields = ["task", "status", "correlation_id", "since", "until"]


class CollectionRunViewSet(viewsets.ReadOnlyModelViewSet):
    """Runs newest first (by id: rows are created as runs start)."""

    queryset = CollectionRun.objects.all()
    serializer_class = CollectionRunSerializer
    pagination_class = KeysetCursorPagination
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = CollectionRunFilter
    ordering = ("-id",)
