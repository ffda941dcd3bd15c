"""Queryset and raw-row helpers: selectors built once, the ORM's conversions on raw rows."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from django.db.models import QuerySet

Q = TypeVar("Q", bound=QuerySet)


def built_once(selector: Callable[[], Q]) -> Callable[[], Q]:
    """``selector()``'s queryset, built on the first call; every call gets a fresh copy.

    Resolving and validating ``order_by("id")`` costs a detail request more than its
    lookup in the database's cache. The copy (``.all()``) is a new, unevaluated queryset:
    callers filter it or read it without ever sharing results.
    """
    built: list[Q] = []

    @functools.wraps(selector)
    def wrapper() -> Q:
        if not built:
            built.append(selector())
        return built[0].all()

    return wrapper


def convert_row(row: list, converters: list[tuple], connection) -> list:
    """Django's column converters (``(index, chain, expression)`` per column that has
    any) applied to a raw SQL row in place, exactly as the ORM's compiler applies them."""
    for index, chain, expression in converters:
        value = row[index]
        for converter in chain:
            value = converter(value, expression, connection)
        row[index] = value
    return row
