"""Reading documents from a file for ``import_documents`` (CSV or JSON Lines).

Columns (docs/mirror.md#import_documents): ``id, document_type_id, number,
emission_date, expiration_date, generation_date, office_id, user_id, net_amount,
tax_amount, exempt_amount, total_amount, state``. Dates are ``YYYY-MM-DD``;
``generation_date`` is ISO 8601 (default: the emission day at 00:00 UTC).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from common import bsale_values as bv

COLUMNS = (
    "id",
    "document_type_id",
    "number",
    "emission_date",
    "expiration_date",
    "generation_date",
    "office_id",
    "user_id",
    "net_amount",
    "tax_amount",
    "exempt_amount",
    "total_amount",
    "state",
)
REQUIRED = {"id", "document_type_id", "number", "emission_date", "total_amount"}
REFERENCES = {"document_type_id": "document_types", "office_id": "offices", "user_id": "users"}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _date(value: Any) -> dt.date:
    if not isinstance(value, str):
        raise ValueError("must be a date like 2025-01-31")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("must be a date like 2025-01-31") from None


def _datetime(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date and time")
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("must be an ISO 8601 date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def record_values(record: dict) -> tuple[int, dict]:
    """One line's record -> (id, the document's field values); ValueError names the column."""
    unknown = set(record) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown column(s): {', '.join(sorted(map(str, unknown)))}")
    for name in REQUIRED:
        if _blank(record.get(name)):
            raise ValueError(f"{name} is required")

    def parse(name, parser, default=None):
        value = record.get(name)
        if _blank(value):
            return default
        try:
            return parser(value)
        except ValueError as exc:
            raise ValueError(f"{name} {exc}") from None

    emission = parse("emission_date", _date)
    values = {
        "document_type_id": parse("document_type_id", bv.positive_id),
        "number": parse("number", bv.integer),
        "emission_date": emission,
        "expiration_date": parse("expiration_date", _date),
        "generation_date": parse(
            "generation_date", _datetime, dt.datetime.combine(emission, dt.time(), dt.UTC)
        ),
        "office_id": parse("office_id", bv.positive_id),
        "user_id": parse("user_id", bv.positive_id),
        "net_amount": parse("net_amount", bv.money, Decimal("0.00")),
        "tax_amount": parse("tax_amount", bv.money, Decimal("0.00")),
        "exempt_amount": parse("exempt_amount", bv.money, Decimal("0.00")),
        "total_amount": parse("total_amount", bv.money),
        "state": parse("state", bv.state, 0),
    }
    return parse("id", bv.positive_id), values


def file_format(path: Path, given: str | None) -> str:
    if given:
        return given
    return "jsonl" if path.suffix.lower() in {".jsonl", ".ndjson", ".json"} else "csv"


def records(handle: io.TextIOBase, kind: str) -> Iterator[tuple[int, dict | str]]:
    """(line number, record) one at a time; a record that cannot be read is its error text."""
    if kind == "csv":
        reader = csv.DictReader(handle)
        missing = REQUIRED - set(reader.fieldnames or [])
        if missing:
            yield 1, f"the header lacks {', '.join(sorted(missing))}"
            return
        for row in reader:
            if None in row:  # more cells than the header has
                yield reader.line_num, "more cells than the header names"
                continue
            yield reader.line_num, row
        return
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            yield number, "not valid JSON"
            continue
        if not isinstance(record, dict):
            yield number, "must be a JSON object"
            continue
        yield number, record
