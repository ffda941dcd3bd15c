"""From a request's ``fields`` and ``expand``: the columns to select (joins included, any
expand depth) and the plan that turns each ``values_list`` tuple into the JSON object, with
no model instance or serializer per row and a query count independent of what is expanded."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from rest_framework.request import Request

from common.bsale.expand_permissions import check_permissions, needed_permissions
from common.bsale.links import base_url
from common.bsale.parameters import ExpandTree, parse_expand, parse_fields
from common.bsale.resources import Resource


class RowPlan:
    """Turns one ``values_list`` row into a resource object, nested expands included."""

    def __init__(
        self,
        resource: Resource,
        base_url: str,
        columns: list[str],
        *,
        prefix: str = "",
        keys: Iterable[str] | None = None,
        expand: ExpandTree | None = None,
    ) -> None:
        expand = expand or {}
        wanted = None if keys is None else set(keys) | set(expand)
        self.href = f"{base_url}/v1/{resource.path}/%s.json"
        self.id_index = self._column(columns, f"{prefix}id")
        self.attrs: list[tuple[str, int, Callable | None]] = []
        # In declaration order (keys keep the resource's order): a nested plan when
        # expanded, else the href template of the reference.
        self.relations: list[tuple[str, int, RowPlan | str]] = []
        for attr in resource.attributes:
            if wanted is None or attr.key in wanted:
                self.attrs.append(
                    (attr.key, self._column(columns, prefix + attr.column), attr.convert)
                )
        for relation in resource.relations:
            if wanted is not None and relation.key not in wanted:
                continue
            if relation.key in expand:
                sub = RowPlan(
                    relation.resource,
                    base_url,
                    columns,
                    prefix=f"{prefix}{relation.column}__",
                    expand=expand[relation.key],
                )
                self.relations.append((relation.key, sub.id_index, sub))
            else:
                index = self._column(columns, f"{prefix}{relation.column}_id")
                self.relations.append(
                    (relation.key, index, f"{base_url}/v1/{relation.resource.path}/%s.json")
                )

    @staticmethod
    def _column(columns: list[str], path: str) -> int:
        if path not in columns:
            columns.append(path)
        return columns.index(path)

    def build(self, row: tuple) -> dict[str, Any]:
        pk = row[self.id_index]
        obj: dict[str, Any] = {"href": self.href % pk, "id": pk}
        for key, index, convert in self.attrs:
            value = row[index]
            obj[key] = convert(value) if convert is not None and value is not None else value
        for key, index, target in self.relations:
            value = row[index]
            if value is None:
                obj[key] = None
            elif isinstance(target, RowPlan):
                obj[key] = target.build(row)
            else:
                obj[key] = {"href": target % value, "id": str(value)}
        return obj


@dataclass(frozen=True)
class Representation:
    """What one request asked to see of a resource: the columns and the plan to build rows.
    Read-only once built: the same one serves every request of the same shape."""

    columns: tuple[str, ...]
    plan: RowPlan
    permissions: tuple[tuple[str, str], ...] = ()  # see expand_permissions

    def check_permissions(self, user) -> None:
        check_permissions(user, self.permissions)

    @classmethod
    def for_request(
        cls, request: Request, resource: Resource, *, allow_fields: bool = True
    ) -> Representation:
        params = request.query_params
        fields = params.get("fields") if allow_fields else None
        expand = params.get("expand")
        base = base_url(request)
        key = (id(resource), base, fields, expand)
        cached = _REPRESENTATIONS.get(key)
        if cached is not None and cached[0] is resource:
            representation = cached[1]
        else:
            keys = parse_fields(fields, resource) if allow_fields else None
            tree = parse_expand(expand, resource)
            columns: list[str] = []
            plan = RowPlan(resource, base, columns, keys=keys, expand=tree)
            representation = cls(
                columns=tuple(columns),
                plan=plan,
                permissions=tuple(needed_permissions(resource, tree)),
            )
            if len(_REPRESENTATIONS) >= _REPRESENTATIONS_MAX:
                _REPRESENTATIONS.clear()
            _REPRESENTATIONS[key] = (resource, representation)
        # Per request: the shape is shared, the caller is not.
        representation.check_permissions(request.user)
        return representation

    def rows(self, queryset: QuerySet) -> list[dict[str, Any]]:
        build = self.plan.build
        return [build(row) for row in queryset.values_list(*self.columns)]


# By (resource, scheme and host, fields, expand): building the plan costs more than running
# it for a detail. Hosts are few (ALLOWED_HOSTS); the cap keeps memory flat.
_REPRESENTATIONS: dict[tuple, tuple[Resource, Representation]] = {}
_REPRESENTATIONS_MAX = 256
