"""Bsale's ``startdate``/``enddate`` pair: Unix timestamps, default today, inclusive."""

import datetime as dt
from collections.abc import Mapping

from django.utils import timezone

from common.bsale.parameters import parse_int, unix_to_date
from common.errors import InvalidInput


def parse_date_range(params: Mapping[str, str]) -> tuple[dt.date, dt.date]:
    """Both default to today in the configured time zone; ``startdate > enddate`` is a 400.

    Given both, the timestamps themselves are compared (``startdate=2&enddate=1`` is
    reversed although both fall on 1970-01-01), as for ``emissiondaterange``.
    """
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
