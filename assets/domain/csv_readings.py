"""Interval readings from a supplier / DCC style CSV export.

Columns (header required, order free, extra columns ignored):

    meter_id, period_start, import_wh, export_wh
    (or import_kwh / export_kwh, converted exactly to whole Wh)

``period_start`` is ISO-8601 with a UTC offset and must be aligned to the
community's period length. Every bad row is reported with its line number
(line 1 is the header); nothing is written unless the caller decides so.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from .intervals import PERIOD, is_aligned
from .payloads import FUTURE_TOLERANCE, PayloadError, parse_ts

# 100 MW for half an hour: nothing on a community network exceeds that.
MAX_INTERVAL_WH = 50_000_000


@dataclass(frozen=True, slots=True)
class CsvReading:
    line: int
    meter_id: str
    start: datetime
    import_wh: int
    export_wh: int


@dataclass(frozen=True, slots=True)
class CsvError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def _energy(raw: str, column: str, unit: str) -> int:
    raw = (raw or "").strip()
    if raw == "":
        raise ValueError(f"{column} is empty (a missing reading must be left out, not sent as blank)")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"{column} {raw!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{column} must be finite")
    if unit == "kwh":
        value = value * 1000
    if value != value.to_integral_value():
        raise ValueError(f"{column} {raw} is not a whole number of Wh")
    wh = int(value)
    if wh < 0:
        raise ValueError(f"{column} must not be negative")
    if wh > MAX_INTERVAL_WH:
        raise ValueError(f"{column} {wh} Wh in one period is beyond any site on the network")
    return wh


def parse_readings_csv(
    text: str, *, now: datetime, period: timedelta = PERIOD
) -> tuple[list[CsvReading], list[CsvError]]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        return [], [CsvError(1, "the file is empty")]
    cols = [h.strip().lower() for h in header]
    unit = "kwh" if "import_kwh" in cols else "wh"
    need = ["meter_id", "period_start", f"import_{unit}", f"export_{unit}"]
    missing = [c for c in need if c not in cols]
    if missing:
        return [], [
            CsvError(1, f"header lacks {', '.join(missing)} (expected meter_id, period_start, import_wh, export_wh)")
        ]
    pos = {c: cols.index(c) for c in need}
    rows: list[CsvReading] = []
    errors: list[CsvError] = []
    seen: dict[tuple[str, datetime], int] = {}
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) < len(cols):
            errors.append(CsvError(line, f"has {len(record)} columns; the header has {len(cols)}"))
            continue
        meter = record[pos["meter_id"]].strip()
        if not meter:
            errors.append(CsvError(line, "meter_id is empty"))
            continue
        try:
            start = parse_ts(record[pos["period_start"]].strip(), name="period_start")
        except PayloadError as exc:
            errors.append(CsvError(line, exc.reason))
            continue
        if not is_aligned(start, period):
            errors.append(
                CsvError(
                    line,
                    f"period_start {start.isoformat()} is not on a {int(period.total_seconds() // 60)}-minute boundary",
                )
            )
            continue
        if start + period > now + FUTURE_TOLERANCE:
            errors.append(CsvError(line, f"period starting {start.isoformat()} has not finished yet"))
            continue
        try:
            imp = _energy(record[pos[f"import_{unit}"]], f"import_{unit}", unit)
            exp = _energy(record[pos[f"export_{unit}"]], f"export_{unit}", unit)
        except ValueError as exc:
            errors.append(CsvError(line, str(exc)))
            continue
        key = (meter, start)
        if key in seen:
            errors.append(CsvError(line, f"duplicates line {seen[key]} (same meter and period)"))
            continue
        seen[key] = line
        rows.append(CsvReading(line, meter, start, imp, exp))
    return rows, errors
