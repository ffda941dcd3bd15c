"""Raw-row helpers: the ORM's conversions applied to rows read with hand-written SQL."""

from __future__ import annotations


def convert_row(row: list, converters: list[tuple], connection) -> list:
    """Django's column converters (``(index, chain, expression)`` per column that has
    any) applied to a raw SQL row in place, exactly as the ORM's compiler applies them."""
    for index, chain, expression in converters:
        value = row[index]
        for converter in chain:
            value = converter(value, expression, connection)
        row[index] = value
    return row
