"""Bank statements in, payment files out.

``parse_statement`` reads the CSV a bank exports (columns found by header
name, case-insensitive: a date; an amount, or a credit column; a reference or
description; optionally a transaction id). ``match_statement`` matches each
credit to an application by the application reference found in the text.
Rows that cannot be read or matched are reported by line number and never
written. ``payment_file`` writes the CSV the bank's bulk-payment upload takes.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from community import csvsafe

from .errors import CoopError
from .money import from_pennies

DATE_HEADERS = ("date", "transaction date", "posting date", "value date")
AMOUNT_HEADERS = ("amount", "credit", "paid in", "credit amount", "money in")
REF_HEADERS = ("reference", "description", "memo", "details", "narrative", "payee")
ID_HEADERS = ("transaction id", "id", "bank reference", "fitid")
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d %b %Y", "%d %B %Y")


@dataclass(frozen=True)
class StatementRow:
    line: int
    day: date
    pennies: int
    text: str
    bank_id: str

    @property
    def fingerprint(self) -> str:
        """Identifies the bank transaction, so an import run twice adds nothing."""
        return self.bank_id or f"{self.day.isoformat()}|{self.pennies}|{normalise(self.text)}"


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


def normalise(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def _find(headers: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in headers]
    for n in names:
        if n in lowered:
            return lowered.index(n)
    return None


def _parse_date(s: str) -> date:
    s = s.strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"cannot read the date {s!r} (use YYYY-MM-DD or DD/MM/YYYY)")


def _parse_amount(s: str) -> int:
    raw = s.strip().replace("£", "").replace(",", "").replace("GBP", "").strip()
    if raw.startswith("(") and raw.endswith(")"):
        raw = "-" + raw[1:-1]
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"cannot read the amount {s!r}") from None
    if not value.is_finite():
        raise ValueError(f"cannot read the amount {s!r}")
    pennies = value * 100
    if pennies != pennies.to_integral_value():
        raise ValueError(f"the amount {s!r} has fractions of a penny")
    return int(pennies)


def parse_statement(text: str) -> tuple[list[StatementRow], list[RowError]]:
    if not text.strip():
        raise CoopError("The statement file is empty.")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        headers = next(reader)
    except StopIteration:
        raise CoopError("The statement file is empty.") from None
    di, ai, ri, ii = (
        _find(headers, DATE_HEADERS),
        _find(headers, AMOUNT_HEADERS),
        _find(headers, REF_HEADERS),
        _find(headers, ID_HEADERS),
    )
    missing = [n for n, i in (("date", di), ("amount", ai), ("reference", ri)) if i is None]
    if missing:
        raise CoopError(
            f"The statement's first line must name its columns; no {', '.join(missing)} column found "
            f"(headers were: {', '.join(h.strip() for h in headers)})."
        )
    rows, errors = [], []
    for line_no, rec in enumerate(reader, start=2):
        if not any(c.strip() for c in rec):
            continue
        try:
            if len(rec) <= max(di, ai, ri):
                raise ValueError("the line has too few columns")
            day = _parse_date(rec[di])
            pennies = _parse_amount(rec[ai]) if rec[ai].strip() else 0
            if pennies <= 0:
                raise ValueError("not a payment in (the amount is zero or negative)")
            rows.append(
                StatementRow(
                    line_no, day, pennies, rec[ri].strip(), rec[ii].strip() if ii is not None and ii < len(rec) else ""
                )
            )
        except ValueError as exc:
            errors.append(RowError(line_no, str(exc)))
    return rows, errors


@dataclass(frozen=True)
class Match:
    row: StatementRow
    key: Hashable


def match_statement(
    rows: Iterable[StatementRow], references: dict[str, Hashable], *, already_imported: set[str] = frozenset()
) -> tuple[list[Match], list[RowError], list[StatementRow]]:
    """Match rows to application references. Returns (matches, errors, duplicates)."""
    norm = {normalise(ref): key for ref, key in references.items() if normalise(ref)}
    pattern = re.compile("|".join(re.escape(r) for r in sorted(norm, key=len, reverse=True))) if norm else None
    matches, errors, dupes = [], [], []
    seen: set[str] = set()
    for row in rows:
        if row.fingerprint in already_imported or row.fingerprint in seen:
            dupes.append(row)
            continue
        found = set(pattern.findall(normalise(row.text))) if pattern else set()
        if not found:
            errors.append(
                RowError(
                    row.line,
                    f"£{from_pennies(row.pennies):,} on {row.day:%d/%m/%Y} "
                    f"({row.text!r}) matches no application reference",
                )
            )
            continue
        if len(found) > 1:
            errors.append(
                RowError(
                    row.line, f"the reference {row.text!r} names more than one application: {', '.join(sorted(found))}"
                )
            )
            continue
        seen.add(row.fingerprint)
        matches.append(Match(row, norm[found.pop()]))
    return matches, errors, dupes


SORT_CODE = re.compile(r"^\d{2}-?\d{2}-?\d{2}$")
ACCOUNT = re.compile(r"^\d{8}$")


def check_bank_details(sort_code: str, account_number: str) -> tuple[str, str]:
    sc = sort_code.strip().replace(" ", "")
    acc = account_number.strip().replace(" ", "")
    if not SORT_CODE.match(sc):
        raise CoopError("A sort code is six digits, e.g. 12-34-56.")
    if not ACCOUNT.match(acc):
        raise CoopError("An account number is eight digits.")
    sc = sc.replace("-", "")
    return f"{sc[:2]}-{sc[2:4]}-{sc[4:]}", acc


@dataclass(frozen=True)
class PaymentLine:
    name: str
    sort_code: str
    account_number: str
    pennies: int
    reference: str


def payment_file(lines: Iterable[PaymentLine]) -> str:
    """CSV for a bank's bulk-payment upload: name, sort code, account, amount, reference (≤18 chars)."""
    buf = io.StringIO()
    w = csvsafe.writer(buf, lineterminator="\n")
    w.writerow(["name", "sort_code", "account_number", "amount", "reference"])
    for ln in lines:
        if ln.pennies <= 0:
            continue
        w.writerow([ln.name[:35], ln.sort_code, ln.account_number, str(from_pennies(ln.pennies)), ln.reference[:18]])
    return buf.getvalue()
