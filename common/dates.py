"""Bsale's ``startdate``/``enddate`` pair: Unix timestamps, default today, inclusive."""

import datetime as dt
from collections.abc import Mapping

from django.utils import timezone

from common.bsale import parse_unix_date
from common.errors import InvalidInput


def parse_date_range(params: Mapping[str, str]) -> tuple[dt.date, dt.date]:
    """Both default to today in the configured time zone; ``startdate > enddate`` is a 400."""
    today = timezone.localdate()
    start = parse_unix_date(params["startdate"], "startdate") if params.get("startdate") else today
    end = parse_unix_date(params["enddate"], "enddate") if params.get("enddate") else today
    if start > end:
        raise InvalidInput(
            "startdate is after enddate.", {"startdate": ["must not be after enddate"]}
        )
    return start, end
