"""Query parameters: ``fields``, ``expand``, ``limit``/``offset`` and Bsale's dates."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from common.bsale.resources import Resource
from common.errors import InvalidInput

DEFAULT_LIMIT = 25
MAX_LIMIT = 50
MAX_EXPAND_DEPTH = 3
# int64: larger ids or numbers cannot exist in the database.
MAX_INT = 2**63 - 1
INTEGER_TEXT = re.compile(r"-?[0-9]+")

ExpandTree = dict[str, "ExpandTree"]


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
    """``limit`` (default 25; any larger than 50 is 50) and ``offset`` (past the end: an
    empty page; beyond 64 bits: a 400, the envelope could not echo it as a JSON integer)."""
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


def parse_expand(raw: str | None, resource: Resource) -> ExpandTree:
    """``expand=[office,user.office]`` -> ``{"office": {}, "user": {"office": {}}}``, each
    path checked against the relations of the resources it walks through."""
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
