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
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connections
from django.db.models import Count, F, Min, QuerySet
from rest_framework.request import Request

from common.errors import InvalidInput, NotFound
from common.permissions import require_perms
from common.querysets import convert_row

DEFAULT_LIMIT = 25
MAX_LIMIT = 50
MAX_EXPAND_DEPTH = 3
# int64: larger ids or numbers cannot exist in the database.
MAX_INT = 2**63 - 1
INTEGER_TEXT = re.compile(r"-?[0-9]+")
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
    # What showing an object of it needs: its model's view permission, and that of any
    # other model an attribute reads from (``document_type__name``). Checked for the
    # resource itself and for every resource an ``expand`` path reaches.
    permissions: tuple[str, ...] = ()

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


def parse_int(
    raw: str, name: str, *, minimum: int = -MAX_INT, maximum: int | None = MAX_INT
) -> int:
    """An integer query parameter; ``maximum=None`` leaves it unbounded above."""
    text = raw.strip()
    # ASCII digits only: int() would also take "1_000", "+5" and other scripts' digits.
    if not INTEGER_TEXT.fullmatch(text) or len(text) > 4000:
        raise InvalidInput(f"{name} must be an integer.", {name: [f"'{raw}' is not an integer"]})
    value = int(text)
    if value < minimum or (maximum is not None and value > maximum):
        bounds = "a non-negative integer" if minimum == 0 and value < 0 else "a 64-bit integer"
        raise InvalidInput(f"{name} must be {bounds}.", {name: ["out of range"]})
    return value


def parse_paging(params: Mapping[str, str]) -> tuple[int, int]:
    """``limit`` (default 25, at most 50: a larger one is served as 50) and ``offset``.

    Any larger limit is 50, however large; an offset past the end is an empty page (an
    offset beyond 64 bits is a 400: the envelope could not echo it as a JSON integer).
    """
    limit, offset = DEFAULT_LIMIT, 0
    if params.get("limit") not in (None, ""):
        limit = min(parse_int(params["limit"], "limit", minimum=0, maximum=None), MAX_LIMIT)
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


def unix_to_date(seconds: int, name: str) -> dt.date:
    """Unix seconds reduced to their UTC date; a 400 naming ``name`` when out of range."""
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).date()
    except (OverflowError, OSError, ValueError):
        raise InvalidInput(f"{name} is not a valid date.", {name: ["out of range"]}) from None


def parse_unix_date(raw: str, name: str) -> dt.date:
    """A Unix timestamp in a query, reduced to its UTC date (Bsale's date parameters)."""
    return unix_to_date(parse_int(raw, name), name)


def parse_unix_date_range(raw: str, name: str) -> tuple[dt.date, dt.date]:
    """``[start,end]``: a start after the end is a 400, even when both fall on one day."""
    parts = _list_param(raw)
    if len(parts) != 2:
        raise InvalidInput(
            f"{name} must be [start,end] with two Unix timestamps.",
            {name: ["expected [start,end]"]},
        )
    start, end = (parse_int(p, name) for p in parts)
    if start > end:
        raise InvalidInput(f"{name}: start is after end.", {name: ["start is after end"]})
    return unix_to_date(start, name), unix_to_date(end, name)


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
        # Relations in declaration order (so keys keep the resource's order whatever is
        # expanded): a nested plan when expanded, else the href template of the reference.
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

    Read-only once built: the same one serves every request of the same shape.
    """

    columns: tuple[str, ...]
    plan: RowPlan
    # (what, permission): every model the objects show, the resource's own and each
    # expanded path's, e.g. ("expand=user.office", "offices.view_office").
    permissions: tuple[tuple[str, str], ...] = ()

    def check_permissions(self, user) -> None:
        """A 403 naming the first part the user may not see and its missing permissions.

        A relation that is not expanded shows only its ``href`` and ``id``, a column of
        the object's own table, so it needs nothing more.
        """
        if not self.permissions or (user.is_active and user.is_superuser):
            return
        by_part: dict[str, list[str]] = {}
        for what, perm in self.permissions:
            by_part.setdefault(what, []).append(perm)
        for what, perms in by_part.items():
            extra = {"expand": [what.removeprefix("expand=")]} if what.startswith("expand=") else {}
            require_perms(user, perms, what=what, errors=extra)

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
                permissions=tuple(_needed_permissions(resource, tree)),
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


def _needed_permissions(resource: Resource, tree: ExpandTree, path: str = ""):
    """(what, permission) for the resource (at the root) and every expanded relation."""
    if not path:
        for perm in resource.permissions:
            yield f"Showing {resource.name.replace('_', ' ')}", perm
    for relation in resource.relations:
        if relation.key not in tree:
            continue
        dotted = f"{path}.{relation.key}" if path else relation.key
        for perm in relation.resource.permissions:
            yield f"expand={dotted}", perm
        yield from _needed_permissions(relation.resource, tree[relation.key], dotted)


# Representations by (resource, scheme and host, fields, expand): building the plan costs
# more than running it for a detail. Hosts are few (ALLOWED_HOSTS); a cap keeps memory flat.
_REPRESENTATIONS: dict[tuple, tuple[Resource, Representation]] = {}
_REPRESENTATIONS_MAX = 256


# --- SQL: the column list compiled once per shape ----------------------------------------------
#
# The ORM spends more time resolving and compiling ``values_list(*columns)`` (a join per
# relation path, a converter per column) than PostgreSQL spends running it. For the plain
# querysets the resources list (a model's rows, filtered, ordered by primary key) the
# ``SELECT <columns> FROM <table> <joins>`` part is compiled once per (model, columns)
# and reused; per request the ORM compiles only the filtered primary keys, which the
# page query selects ``IN``. Same rows, same values (Django's own converters), same
# number of queries; any other queryset takes the plain ORM path.

_SELECTS: dict[tuple, tuple[str, list]] = {}
_SELECTS_MAX = 256  # shapes are few (fields x expand); a cap keeps memory flat anyway
# ``SELECT pk AS _pk FROM <table>`` by (model, database): what an unfiltered list counts.
_UNFILTERED_PKS: dict[tuple, tuple[str, tuple]] = {}
_INTEGER_TYPES = {"AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField"}


def _compiled_select(model, columns: tuple[str, ...], connection) -> tuple[str, list]:
    """``SELECT <columns> FROM <table> [JOIN ...]`` (no WHERE, no ORDER BY) and converters."""
    key = (model, columns, connection.alias, connection.vendor)
    cached = _SELECTS.get(key)
    if cached is None:
        query = model._base_manager.using(connection.alias).order_by().values_list(*columns).query
        compiler = query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        assert not params and not query.where
        converters = [
            (index, chain, expression)
            for index, (chain, expression) in compiler.get_converters(
                [item[0] for item in compiler.select]
            ).items()
        ]
        if len(_SELECTS) >= _SELECTS_MAX:
            _SELECTS.clear()
        cached = _SELECTS[key] = (sql, converters)
    return cached


def _ordered_by_pk(queryset: QuerySet) -> bool:
    """A model queryset with filters at most, ordered by primary key only (ascending)."""
    query = queryset.query
    if (
        query.distinct
        or query.combinator
        or query.is_sliced
        or query.annotations
        or query.extra
        or query.extra_order_by
        or query.group_by is not None
        or query.select
        or query.values_select
        or query.select_for_update
        or query.select_related
        or queryset._fields is not None
    ):
        return False
    meta = query.get_meta()
    ordering = query.order_by or (meta.ordering if query.default_ordering else ())
    return tuple(ordering) in (("pk",), (meta.pk.name,), (meta.pk.attname,))


class _FastQueries:
    """The count and the page of a pk-ordered queryset, with the select compiled once."""

    def __init__(self, queryset: QuerySet, columns: list[str]) -> None:
        self.connection = connections[queryset.db]
        self.model = queryset.model
        meta = self.model._meta
        quote = self.connection.ops.quote_name
        self.pk = f"{quote(meta.db_table)}.{quote(meta.pk.column)}"
        self.inner_pk = quote("_pk")
        self.select, self.converters = _compiled_select(self.model, tuple(columns), self.connection)
        self.queryset = queryset
        self.filtered = bool(queryset.query.where)

    def count_and_first_pk(self) -> tuple[int, Any]:
        """See ``count_and_first_pk``: the same one query."""
        # The filtered primary keys: the only part the ORM compiles per request (and,
        # unfiltered, once per model: the whole table's keys).
        key = (self.model, self.connection.alias, self.connection.vendor)
        unfiltered = None if self.filtered else _UNFILTERED_PKS.get(key)
        if unfiltered is not None:
            self.inner_sql, self.inner_params = unfiltered
        else:
            pks = self.queryset.order_by().values(_pk=F("pk")).query
            try:
                self.inner_sql, self.inner_params = pks.get_compiler(
                    connection=self.connection
                ).as_sql()
            except EmptyResultSet:  # e.g. .none(), or an id no column can hold
                return 0, None
            if not self.filtered:
                _UNFILTERED_PKS[key] = (self.inner_sql, tuple(self.inner_params))
        first = f', MIN("_p".{self.inner_pk})' if self.filtered else ""
        with self.connection.cursor() as cursor:
            cursor.execute(
                f'SELECT COUNT(*){first} FROM ({self.inner_sql}) "_p"', self.inner_params
            )
            row = cursor.fetchone()
        return (row[0], row[1]) if self.filtered else (row[0], None)

    def page(self, offset: int, limit: int, first_pk: Any) -> list[list]:
        ops = self.connection.ops
        seek, params = "", list(self.inner_params)
        if first_pk is not None:
            seek = f' WHERE "_p".{self.inner_pk} >= %s'
            params.append(first_pk)
        page = (
            f'SELECT "_p".{self.inner_pk} FROM ({self.inner_sql}) "_p"{seek}'
            f' ORDER BY "_p".{self.inner_pk} {ops.limit_offset_sql(offset, offset + limit)}'
        )
        return self._fetch(
            f"{self.select} WHERE {self.pk} IN ({page}) ORDER BY {self.pk} ASC", params
        )

    def one(self, pk: Any) -> list[list]:
        field = self.model._meta.pk
        try:
            value = field.to_python(pk)
        except ValidationError:
            return []
        if field.get_internal_type() in _INTEGER_TYPES:
            low, high = self.connection.ops.integer_field_range(field.get_internal_type())
            if (low is not None and value < low) or (high is not None and value > high):
                return []
        value = field.get_db_prep_value(value, self.connection)
        return self._fetch(f"{self.select} WHERE {self.pk} = %s", [value])

    def _fetch(self, sql: str, params: list) -> list[list]:
        connection = self.connection
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not self.converters:
            return rows
        converters = self.converters
        return [convert_row(list(row), converters, connection) for row in rows]


# --- URLs ------------------------------------------------------------------------------------


def base_url(request: Request) -> str:
    """Scheme and host of the request, e.g. ``https://api.example.com``."""
    request = getattr(request, "_request", request)  # Django's own: DRF's proxies each lookup
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
    # "," stays readable; "[" and "]" are percent-encoded: RFC 3986 allows them only in
    # the host, and strict URI parsers (java.net.URI, the schema's "format: uri") refuse
    # them in a query. Every server decodes %5B as "[", so the link works the same.
    href = f"{url}?{urlencode(pairs, safe=',')}" if pairs else url
    next_url = None
    if limit > 0 and offset + limit < count:
        paging = [("limit", limit), ("offset", offset + limit)]
        next_url = f"{url}?{urlencode(paging + pairs, safe=',')}"
    return href, next_url


# --- Responses -------------------------------------------------------------------------------


def count_and_first_pk(queryset: QuerySet) -> tuple[int, Any]:
    """The exact count and, for a filtered queryset, the smallest matching primary key.

    The page query then also says ``pk >= first``, which changes no result but saves
    PostgreSQL from a trap: for ``WHERE emission_date BETWEEN .. ORDER BY id LIMIT 50``
    it walks the primary key from the start, expecting matches to be spread evenly,
    and when they are the newest rows (documents are numbered as they are issued) it
    reads almost the whole table before the first one. From ``first`` it reads about
    ``limit`` rows. Same one query as before: ``COUNT(*)`` and ``MIN(pk)`` in one scan.
    """
    if not queryset.query.where:
        return queryset.count(), None
    result = queryset.aggregate(count=Count("*"), first=Min("pk"))
    return result["count"], result["first"]


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
    fast = _FastQueries(queryset, representation.columns) if _ordered_by_pk(queryset) else None
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
    if _ordered_by_pk(queryset) and not queryset.query.where:
        fast = _FastQueries(queryset, representation.columns)
        rows = [representation.plan.build(row) for row in fast.one(pk)]
    else:
        rows = representation.rows(queryset.filter(pk=pk))
    if not rows:
        raise NotFound(f"There is no {resource.name[:-1].replace('_', ' ')} with id {pk}.")
    return rows[0]
