"""CSV that spreadsheets open as data, never as formulas: the one writer every export uses.
Text quoted, a ``'`` before a formula character at a cell's start or after any separator;
numbers stay numbers (docs/security.md, "CSV exports").
"""

from __future__ import annotations

import csv
import re
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A formula character where another locale's separator would start a cell.
_AFTER_SEPARATOR = re.compile(r'([,;\t\r\n])([ "]*)(?=[=+\-@])')


def csv_text(value) -> str:
    """A text cell that no spreadsheet evaluates, whatever separator it splits on."""
    text = _AFTER_SEPARATOR.sub(r"\1\2'", str(value))
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):  # a bool is an int to Python, never a number in a sheet
        return csv_text(value)
    if isinstance(value, int | float | Decimal):
        return value
    return csv_text(value)


class SafeCsvWriter:
    """``csv.writer`` with every text cell quoted and escaped (see the module's docstring)."""

    def __init__(self, stream, *, lineterminator: str = "\r\n") -> None:
        self._writer = csv.writer(
            stream, quoting=csv.QUOTE_NONNUMERIC, lineterminator=lineterminator
        )

    def writerow(self, row) -> None:
        self._writer.writerow([_cell(value) for value in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)
