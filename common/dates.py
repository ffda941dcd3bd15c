"""Bsale's ``startdate``/``enddate`` pair: Unix timestamps, default today, inclusive."""

import datetime as dt
from collections.abc import Mapping

from django.utils import timezone

from common.bsale.parameters import parse_int, unix_to_date
from common.errors import InvalidInput


def parse_date_range(params: Mapping[str, str]) -> tuple[dt.date, dt.date]:
    """Both default to today (configured time zone); a start after the end is a 400, the
    timestamps compared even when both fall on one day."""
    today = timezone.localdate()
    raw = {
        name: parse_int(params[name], name) for name in ("startdate", "enddate") if params.get(name)
    }
    start = unix_to_date(raw["startdate"], "startdate") if "startdate" in raw else today
    end = unix_to_date(raw["enddate"], "enddate") if "enddate" in raw else today
    both_given = len(raw) == 2
    if start > end or (both_given and raw["startdate"] > raw["enddate"]):
        raise InvalidInput(
            "startdate is after enddate.", {"startdate": ["must not be after enddate"]}
        )
    return start, end
