"""CSV exports that a spreadsheet opens as data, never as formulas.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
run as a formula by Excel, LibreOffice and Google Sheets (CSV injection, OWASP).
Every export in the project writes through ``writer()`` here, which prefixes
such a text cell with an apostrophe (shown by spreadsheets, not part of the
value). Numbers stay numbers: a negative amount (``Decimal("-3.20")`` or the text "-3.20") is data,
only *text* that starts with a trigger is escaped.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

# A plain number written as text ("-1.9", "+44") is data, not a formula.
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?\Z")
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    text = str(value)
    if text.startswith(TRIGGERS) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


class SafeWriter:
    """A ``csv.writer`` whose rows are escaped cell by cell."""

    def __init__(self, stream: Any, *args: Any, **kwargs: Any) -> None:
        self._writer = csv.writer(stream, *args, **kwargs)

    @property
    def dialect(self):
        return self._writer.dialect

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream: Any, *args: Any, **kwargs: Any) -> SafeWriter:
    return SafeWriter(stream, *args, **kwargs)


class SafeDictWriter(csv.DictWriter):
    def __init__(self, stream: Any, fieldnames: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(stream, fieldnames, *args, **kwargs)
        self.writer = SafeWriter(
            stream, *args, **{k: v for k, v in kwargs.items() if k not in {"restval", "extrasaction"}}
        )

    def writeheader(self):
        return self.writer.writerow(self.fieldnames)


def DictWriter(stream: Any, fieldnames: Any, *args: Any, **kwargs: Any) -> SafeDictWriter:  # noqa: N802 - mirrors csv
    return SafeDictWriter(stream, fieldnames, *args, **kwargs)
