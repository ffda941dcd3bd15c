"""CSV that spreadsheets open as data, never as formulas: the one writer every export uses.

Three defences, all needed:

- Every text cell is quoted (``csv.QUOTE_NONNUMERIC``), so a reader that splits on the
  file's own separator keeps ``x,=1+1`` in one cell.
- A text cell starting with ``= + - @``, a tab or a carriage return gets a leading ``'``
  (OWASP's advice): quoted or not, a spreadsheet evaluates a cell that starts like that.
- A spreadsheet whose locale splits on ``;`` (Spanish Excel) reads ``2,"x;=1+1;",5`` as
  ``2,"x`` | ``=1+1`` | ``",5``: the quotes do not help, because they are not at the start
  of *its* field. So inside a text cell, a formula character that follows any common
  separator (``, ; tab CR LF``, then optional spaces or quotes) gets a ``'`` too:
  ``x;'=1+1;``. Whatever a spreadsheet splits on, no piece starts like a formula.

Numbers (``int``, ``Decimal``, ``float``) stay unquoted, so they remain numbers.
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
