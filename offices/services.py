"""Writes on offices: the Bsale mirror's upsert (sync, webhook fetches, imports)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django.db import transaction

from common import bsale_values as bv
from common.upsert import UpsertResult, upsert_rows
from offices.models import Office


def _text(name: str, *, required: bool = False):
    return partial(
        bv.text, max_length=Office._meta.get_field(name).max_length or 10_000, required=required
    )


# Bsale owns every field of an office.
OFFICE_PARSERS = {
    "name": ("name", _text("name", required=True)),
    "description": ("description", partial(bv.text, max_length=10_000)),
    "address": ("address", _text("address")),
    "latitude": ("latitude", _text("latitude")),
    "longitude": ("longitude", _text("longitude")),
    "is_virtual": ("isVirtual", lambda v: bv.flag(v or 0)),
    "country": ("country", _text("country")),
    "municipality": ("municipality", _text("municipality")),
    "city": ("city", _text("city")),
    "zip_code": ("zipCode", _text("zip_code")),
    "cost_center": ("costCenter", _text("cost_center")),
    "state": ("state", bv.state),
}
OFFICE_FIELDS = list(OFFICE_PARSERS)


def office_values(item: dict) -> tuple[int, dict]:
    """A Bsale office object -> (id, field values); ``ValueError`` names the bad key."""
    try:
        pk = bv.positive_id(item.get("id"))
    except ValueError as exc:
        raise ValueError(f"id {exc}") from None
    return pk, bv.field_values(item, OFFICE_PARSERS)


@transaction.atomic
def offices_upsert(*, items: Iterable[dict], dry_run: bool = False) -> UpsertResult:
    """Create or update offices from Bsale objects, by Bsale id; unchanged ones are not written."""
    rows = dict(office_values(item) for item in items)
    return upsert_rows(Office, rows, fields=OFFICE_FIELDS, dry_run=dry_run)
