"""Writes on offices: the Bsale mirror's upsert (sync, webhook fetches, imports)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django.db import transaction

from common import bsale_values as bv
from common.upsert import UpsertResult, upsert_rows
from offices.models import Office

# Bsale owns every field of an office.
OFFICE_PARSERS = {
    "name": ("name", bv.model_text(Office, "name", required=True)),
    "description": ("description", partial(bv.text, max_length=10_000)),
    "address": ("address", bv.model_text(Office, "address")),
    "latitude": ("latitude", bv.model_text(Office, "latitude")),
    "longitude": ("longitude", bv.model_text(Office, "longitude")),
    "is_virtual": ("isVirtual", lambda v: bv.flag(v or 0)),
    "country": ("country", bv.model_text(Office, "country")),
    "municipality": ("municipality", bv.model_text(Office, "municipality")),
    "city": ("city", bv.model_text(Office, "city")),
    "zip_code": ("zipCode", bv.model_text(Office, "zip_code")),
    "cost_center": ("costCenter", bv.model_text(Office, "cost_center")),
    "state": ("state", bv.state),
}
OFFICE_FIELDS = list(OFFICE_PARSERS)


def office_values(item: dict) -> tuple[int, dict]:
    """A Bsale office object -> (id, field values); ``ValueError`` names the bad key."""
    return bv.record_values(item, OFFICE_PARSERS)


@transaction.atomic
def offices_upsert(*, items: Iterable[dict], dry_run: bool = False) -> UpsertResult:
    """Create or update offices from Bsale objects, by Bsale id; unchanged ones are not written."""
    rows = dict(office_values(item) for item in items)
    return upsert_rows(Office, rows, fields=OFFICE_FIELDS, dry_run=dry_run)
