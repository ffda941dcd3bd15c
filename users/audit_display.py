"""The audit trail for people: each change as "what: before → after".

The trail stores before/after as JSON (``users.models.AuditEntry``): a quota as a string
("9250.00"), a history change as lists of ``{nit, monto, fecha, emc}`` entries. Staff
read them here as lines with localized amounts, dates in ``TIME_ZONE`` and no JSON quotes:
``9.250,00 → 9.500,00``; ``Gloria · NIT 20100190797 · 05/01/2026 04:30: 1.500,00 → 1.650,00``
(``—`` where an entry was added or deleted).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

ARROW = "→"
NOTHING = "—"


def amount_text(value: Any) -> str:
    """``"9250.00"`` → ``9.250,00`` (in the active language); anything else as text."""
    if value is None or value == "":
        return NOTHING
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return number_format(amount, decimal_pos=2, force_grouping=True)


def when_text(value: Any) -> str:
    """An ISO 8601 datetime as a short local (``TIME_ZONE``) date and time."""
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    return date_format(timezone.localtime(when), "SHORT_DATETIME_FORMAT")


def _entry_key(entry: dict) -> tuple:
    try:
        when = dt.datetime.fromisoformat(str(entry.get("fecha")))
    except ValueError:
        when = entry.get("fecha")
    return (entry.get("emc"), entry.get("nit"), when)


def _entries(value: Any) -> list[dict] | None:
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return value
    return None


def history_lines(before: Any, after: Any) -> list[str]:
    """One line per history entry that changed, in the order they were recorded."""
    old, new = _entries(before), _entries(after)
    if old is None or new is None:  # not the shape the services write: say it plainly
        return [f"{_plain(before)} {ARROW} {_plain(after)}"]
    pairs: dict[tuple, list[dict | None]] = {}
    for entry in old:
        pairs.setdefault(_entry_key(entry), [None, None])[0] = entry
    for entry in new:
        pairs.setdefault(_entry_key(entry), [None, None])[1] = entry
    lines = []
    for first, second in pairs.values():
        entry = second or first
        label = f"{entry.get('emc')} · NIT {entry.get('nit')} · {when_text(entry.get('fecha'))}"
        was = amount_text(first.get("monto")) if first else NOTHING
        now = amount_text(second.get("monto")) if second else NOTHING
        lines.append(f"{label}: {was} {ARROW} {now}")
    return lines


def _plain(value: Any) -> str:
    if value is None:
        return NOTHING
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_plain(v) for v in value) or NOTHING
    return str(value)


def change_lines(field: str, before: Any, after: Any, *, limit: int | None = None) -> list[str]:
    """The change of one audit entry as lines for people; past ``limit``, "and N more"."""
    if field == "quota":
        lines = [f"{amount_text(before)} {ARROW} {amount_text(after)}"]
    else:
        lines = history_lines(before, after)
    if limit is not None and len(lines) > limit:
        more = len(lines) - limit
        lines = [*lines[:limit], _("… and %(count)s more") % {"count": more}]
    return lines
