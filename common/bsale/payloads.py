"""Bsale's list and detail envelopes, served by the fast path when it applies, else the ORM."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Min, QuerySet
from rest_framework.request import Request

from common.bsale import fast_path
from common.bsale.links import list_urls
from common.bsale.parameters import parse_paging
from common.bsale.resources import Resource
from common.bsale.row_plans import Representation
from common.errors import NotFound


def count_and_first_pk(queryset: QuerySet) -> tuple[int, Any]:
    """The exact count and, filtered, the smallest matching pk, in one scan: the page then
    says ``pk >= first``, which keeps PostgreSQL from walking the pk from the start
    (docs/performance.md)."""
    if not queryset.query.where:
        return queryset.count(), None
    result = queryset.aggregate(count=Count("*"), first=Min("pk"))
    return result["count"], result["first"]


def list_payload(
    request: Request,
    queryset: QuerySet | fast_path.SqlFilter,
    representation: Representation | None = None,
    *,
    resource: Resource | None = None,
) -> dict[str, Any]:
    """``href, count, limit, offset, items[, next]``: two queries, the exact count and the
    page (skipped when the page is past the end)."""
    if representation is None:
        assert resource is not None
        representation = Representation.for_request(request, resource)
    limit, offset = parse_paging(request.query_params)
    fast = None
    if isinstance(queryset, fast_path.SqlFilter):
        if fast_path.ENABLED:
            fast = fast_path.FastQueries(queryset, representation.columns)
        else:
            queryset = queryset.queryset()
    elif fast_path.serves(queryset):
        fast = fast_path.FastQueries(queryset, representation.columns)
    count, first_pk = fast.count_and_first_pk() if fast else count_and_first_pk(queryset)
    items = []
    if limit and offset < count:
        if fast is not None:
            build = representation.plan.build
            items = [build(row) for row in fast.page(offset, limit, first_pk)]
        else:
            if first_pk is not None:
                queryset = queryset.filter(pk__gte=first_pk)
            items = representation.rows(queryset[offset : offset + limit])
    href, next_url = list_urls(request, limit, offset, count)
    payload = {"href": href, "count": count, "limit": limit, "offset": offset, "items": items}
    if next_url:
        payload["next"] = next_url
    return payload


def detail_payload(request: Request, queryset: QuerySet, pk: Any, resource: Resource) -> dict:
    """One object (``fields`` and ``expand`` apply); a 404 when it does not exist."""
    representation = Representation.for_request(request, resource)
    if fast_path.serves(queryset, detail=True):
        fast = fast_path.FastQueries(queryset, representation.columns)
        rows = [representation.plan.build(row) for row in fast.one(pk)]
    else:
        rows = representation.rows(queryset.filter(pk=pk))
    if not rows:
        raise NotFound(f"There is no {resource.name[:-1].replace('_', ' ')} with id {pk}.")
    return rows[0]
