"""Bsale JSON values -> Python values (the inverse of common.bsale's converters).

Each parser raises ``ValueError`` with a short message; callers name the record and
the key around it. Amounts arrive as Decimal when the JSON was read with
``parse_float=Decimal`` (mirror.bsale_client does), so money stays exact.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from common.money import checked_money


def text(value: Any, max_length: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError("must be a string")
    value = value.replace("\x00", "").strip()
    if required and not value:
        raise ValueError("must not be empty")
    return value[:max_length]


def flag(value: Any) -> bool:
    if value in (0, 1, True, False, "0", "1"):
        return bool(int(value))
    raise ValueError("must be 0 or 1")


def state(value: Any) -> int:
    if value in (0, 1, "0", "1") and not isinstance(value, bool):
        return int(value)
    raise ValueError("must be 0 or 1")


def integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("must be an integer")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal | float) and value == int(value):
        return int(value)
    raise ValueError("must be an integer")


def positive_id(value: Any) -> int:
    number = integer(value)
    if number <= 0 or number >= 2**63:
        raise ValueError("must be a positive id")
    return number


def unix_date(value: Any) -> dt.date:
    """Bsale's dates: Unix seconds of 00:00 UTC that day (any second of it is that day)."""
    seconds = integer(value)
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).date()
    except (OverflowError, OSError, ValueError):
        raise ValueError("must be a Unix timestamp") from None


def unix_datetime(value: Any) -> dt.datetime:
    seconds = integer(value)
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError("must be a Unix timestamp") from None


def money(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError("must be a number")
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValueError("must be a number") from None
    return checked_money(amount)


def relation_id(value: Any) -> int | None:
    """A relation as Bsale sends it: ``{"href", "id": "2"}``, expanded (``"id": 2``) or null."""
    if value is None:
        return None
    if isinstance(value, dict):
        if "id" not in value:
            raise ValueError("must have an id")
        return positive_id(value["id"])
    return positive_id(value)


def field_values(item: dict, parsers: dict[str, tuple[str, Any]]) -> dict:
    """``{field: parse(item[key])}`` for ``parsers = {field: (bsale key, parse)}``.

    Raises ``ValueError("key: message")`` naming the first bad key.
    """
    values = {}
    for name, (key, parse) in parsers.items():
        try:
            values[name] = parse(item.get(key))
        except ValueError as exc:
            raise ValueError(f"{key} {exc}") from None
    return values


def model_text(model, name: str, *, required: bool = False):
    """A ``text`` parser bounded by ``model``'s field ``name`` (its max_length)."""
    max_length = model._meta.get_field(name).max_length or 10_000

    def parse(value: Any) -> str:
        return text(value, max_length, required=required)

    return parse


def record_values(item: dict, parsers: dict[str, tuple[str, Any]]) -> tuple[int, dict]:
    """A Bsale object -> (its id, ``field_values``); ``ValueError`` names the bad key."""
    try:
        pk = positive_id(item.get("id"))
    except ValueError as exc:
        raise ValueError(f"id {exc}") from None
    return pk, field_values(item, parsers)
