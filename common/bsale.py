"""The Bsale API rules, written once: every ``/v1/`` resource is served through here.

A resource declares its attributes (camelCase key -> ORM column) and relations
(snake_case key -> another resource). From a request's ``fields`` and ``expand``
this module derives the exact columns to select (joins included, for any expand
depth) and a row plan that turns each ``values_list`` tuple into the JSON object:
no model instance and no serializer object is built per row, and the number of
queries never depends on the page size or on what is expanded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from rest_framework.request import Request

from common.errors import InvalidInput, NotFound

DEFAULT_LIMIT = 25
MAX_LIMIT = 50
MAX_EXPAND_DEPTH = 3
# int64: larger ids or numbers cannot exist in the database.
MAX_INT = 2**63 - 1
# OpenAPI schemas for attributes whose converter does not imply one (see common.openapi).
INTEGER = {"type": "integer"}
STATE = {"type": "integer", "enum": [0, 1], "description": "0 active, 1 inactive."}

# --- Value converters (database value -> JSON value) ------------------------------------


def date_to_unix(value: dt.date) -> int:
    """A date as Bsale sends it: Unix seconds of 00:00 UTC that day."""
    return (value - dt.date(1970, 1, 1)).days * 86400


def datetime_to_unix(value: dt.datetime) -> int:
    return int(value.timestamp())


def flag(value: Any) -> int:
    """Bsale's booleans are 0/1."""
    return 1 if value else 0


# --- Declarations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Attr:
    """An attribute: JSON ``key`` read from the ORM ``column`` through ``convert``.

    ``convert`` is not called for NULL. A computed key may reuse another column.
    """

    key: str
    column: str
    convert: Callable[[Any], Any] | None = None
    # OpenAPI: the JSON schema when the converter does not imply it (default string).
    schema: dict | None = None
    nullable: bool = False


@dataclass(frozen=True)
class Relation:
    """A to-one relation: ``key`` (snake_case) via the ORM foreign key ``column``."""

    key: str
    column: str
    resource_name: str

    @property
    def resource(self) -> Resource:
        return RESOURCES[self.resource_name]


RESOURCES: dict[str, Resource] = {}


@dataclass
class Resource:
    """A Bsale resource, served at ``/v1/<name>/<id>.json``."""

    name: str
    attributes: list[Attr]
    relations: list[Relation] = field(default_factory=list)
    # URL path segment when it differs from ``name`` (e.g. a document's short form).
    path: str = ""

    def __post_init__(self) -> None:
        self.path = self.path or self.name
        RESOURCES[self.name] = self
        self.attr_by_lower = {a.key.lower(): a for a in self.attributes}
        self.relation_by_lower = {r.key.lower(): r for r in self.relations}

    @property
    def keys(self) -> list[str]:
        return [a.key for a in self.attributes] + [r.key for r in self.relations]


# --- Query parameters ----------------------------------------------------------------------


def _list_param(raw: str) -> list[str]:
    """``[a, b]`` or ``a,b`` -> ``["a", "b"]`` (brackets optional, blanks dropped)."""
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_int(raw: str, name: str, *, minimum: int = -MAX_INT, maximum: int = MAX_INT) -> int:
    text = raw.strip()
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(
            f"{name} must be an integer.", {name: [f"'{raw}' is not an integer"]}
        ) from None
    if not minimum <= value <= maximum:
        bounds = "a non-negative integer" if minimum == 0 else "a 64-bit integer"
        raise InvalidInput(f"{name} must be {bounds}.", {name: ["out of range"]})
    return value


def parse_paging(params: Mapping[str, str]) -> tuple[int, int]:
    """``limit`` (default 25, at most 50: a larger one is served as 50) and ``offset``."""
    limit, offset = DEFAULT_LIMIT, 0
    if params.get("limit") not in (None, ""):
        limit = min(parse_int(params["limit"], "limit", minimum=0), MAX_LIMIT)
    if params.get("offset") not in (None, ""):
        offset = parse_int(params["offset"], "offset", minimum=0)
    return limit, offset


def parse_fields(raw: str | None, resource: Resource) -> list[str] | None:
    """``fields=[firstname,lastname]`` -> the canonical keys, case-insensitively."""
    if raw is None:
        return None
    names = _list_param(raw)
    if not names:
        return None
    keys, unknown = [], []
    for name in names:
        lowered = name.lower()
        if lowered in ("href", "id"):
            continue  # always present
        item = resource.attr_by_lower.get(lowered) or resource.relation_by_lower.get(lowered)
        if item is None:
            unknown.append(name)
        else:
            keys.append(item.key)
    if unknown:
        known = ", ".join(resource.keys)
        raise InvalidInput(
            f"Unknown field {', '.join(repr(u) for u in unknown)} in fields; known: {known}.",
            {"fields": [f"unknown field: {u}" for u in unknown]},
        )
    return keys


ExpandTree = dict[str, "ExpandTree"]


def parse_expand(raw: str | None, resource: Resource) -> ExpandTree:
    """``expand=[office,user.office]`` -> ``{"office": {}, "user": {"office": {}}}``.

    Each path is checked against the relations of the resources it walks through.
    """
    tree: ExpandTree = {}
    if raw is None:
        return tree
    for path in _list_param(raw):
        parts = [p.strip().lower() for p in path.split(".")]
        if len(parts) > MAX_EXPAND_DEPTH:
            raise InvalidInput(
                f"expand path '{path}' is deeper than {MAX_EXPAND_DEPTH} levels.",
                {"expand": [f"too deep: {path}"]},
            )
        node, current = tree, resource
        for part in parts:
            relation = current.relation_by_lower.get(part)
            if relation is None:
                expandable = ", ".join(r.key for r in current.relations) or "none"
                raise InvalidInput(
                    f"Cannot expand '{path}': '{part}' is not an expandable relation of "
                    f"{current.name} (expandable: {expandable}).",
                    {"expand": [f"not expandable: {path}"]},
                )
            node = node.setdefault(relation.key, {})
            current = relation.resource
    return tree


def parse_unix_date(raw: str, name: str) -> dt.date:
    """A Unix timestamp in a query, reduced to its UTC date (Bsale's date parameters)."""
    seconds = parse_int(raw, name)
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).date()
    except (OverflowError, OSError, ValueError):
        raise InvalidInput(f"{name} is not a valid date.", {name: ["out of range"]}) from None


def parse_unix_date_range(raw: str, name: str) -> tuple[dt.date, dt.date]:
    parts = _list_param(raw)
    if len(parts) != 2:
        raise InvalidInput(
            f"{name} must be [start,end] with two Unix timestamps.",
            {name: ["expected [start,end]"]},
        )
    start, end = (parse_unix_date(p, name) for p in parts)
    if start > end:
        raise InvalidInput(f"{name}: start is after end.", {name: ["start is after end"]})
    return start, end


# --- Row plans -----------------------------------------------------------------------------


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
        self.refs: list[tuple[str, int, str]] = []
        self.nested: list[tuple[str, int, RowPlan]] = []
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
                self.nested.append((relation.key, sub.id_index, sub))
            else:
                index = self._column(columns, f"{prefix}{relation.column}_id")
                self.refs.append(
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
        for key, index, href in self.refs:
            value = row[index]
            obj[key] = None if value is None else {"href": href % value, "id": str(value)}
        for key, index, plan in self.nested:
            obj[key] = None if row[index] is None else plan.build(row)
        return obj


@dataclass
class Representation:
    """What one request asked to see of a resource: the columns and the plan to build rows."""

    columns: list[str]
    plan: RowPlan

    @classmethod
    def for_request(
        cls, request: Request, resource: Resource, *, allow_fields: bool = True
    ) -> Representation:
        params = request.query_params
        keys = parse_fields(params.get("fields"), resource) if allow_fields else None
        expand = parse_expand(params.get("expand"), resource)
        columns: list[str] = []
        plan = RowPlan(resource, base_url(request), columns, keys=keys, expand=expand)
        return cls(columns=columns, plan=plan)

    def rows(self, queryset: QuerySet) -> list[dict[str, Any]]:
        build = self.plan.build
        return [build(row) for row in queryset.values_list(*self.columns)]


# --- URLs ------------------------------------------------------------------------------------


def base_url(request: Request) -> str:
    """Scheme and host of the request, e.g. ``https://api.example.com``."""
    return f"{request.scheme}://{request.get_host()}"


def canonical_path(request: Request) -> str:
    """The request's path with Bsale's ``.json`` suffix (``/v1/users`` -> ``/v1/users.json``)."""
    path = request.path.rstrip("/")
    return path if path.endswith(".json") else f"{path}.json"


def list_urls(request: Request, limit: int, offset: int, count: int) -> tuple[str, str | None]:
    """The list's own ``href`` (its filters, without paging) and ``next`` (or None).

    ``next`` keeps every other query parameter of the request.
    """
    others = [(k, v) for k, v in request.query_params.lists() if k not in ("limit", "offset")]
    pairs = [(k, v) for k, values in others for v in values]
    url = base_url(request) + canonical_path(request)
    href = f"{url}?{urlencode(pairs, safe='[],')}" if pairs else url
    next_url = None
    if limit > 0 and offset + limit < count:
        paging = [("limit", limit), ("offset", offset + limit)]
        next_url = f"{url}?{urlencode(paging + pairs, safe='[],')}"
    return href, next_url


# --- Responses -------------------------------------------------------------------------------


def list_payload(
    request: Request,
    queryset: QuerySet,
    representation: Representation | None = None,
    *,
    resource: Resource | None = None,
) -> dict[str, Any]:
    """Bsale's list envelope: ``href, count, limit, offset, items[, next]``.

    Two queries: the exact count and the page (skipped when the page is past the end).
    """
    if representation is None:
        assert resource is not None
        representation = Representation.for_request(request, resource)
    limit, offset = parse_paging(request.query_params)
    count = queryset.count()
    items = (
        representation.rows(queryset[offset : offset + limit]) if limit and offset < count else []
    )
    href, next_url = list_urls(request, limit, offset, count)
    payload = {"href": href, "count": count, "limit": limit, "offset": offset, "items": items}
    if next_url:
        payload["next"] = next_url
    return payload


def detail_payload(request: Request, queryset: QuerySet, pk: Any, resource: Resource) -> dict:
    """One object (``fields`` and ``expand`` apply); a 404 when it does not exist."""
    representation = Representation.for_request(request, resource)
    rows = representation.rows(queryset.filter(pk=pk))
    if not rows:
        raise NotFound(f"There is no {resource.name[:-1].replace('_', ' ')} with id {pk}.")
    return rows[0]
