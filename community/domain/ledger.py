"""Pure ledger rules: balanced entries and the hash chain (no Django).

An entry's hash covers the previous entry's hash and everything that states
what moved: so altering, deleting or reordering any stored entry breaks every
hash after it, and ``verify_chain`` finds the first one that does not match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

GENESIS_HASH = "0" * 64
PENNY = Decimal("0.01")


@dataclass(frozen=True)
class Line:
    account_code: str
    amount: Decimal  # debit positive, credit negative, whole pennies


@dataclass(frozen=True)
class EntryRecord:
    seq: int
    effective_at: str  # ISO-8601 UTC
    created_at: str
    source: str
    reference: str
    memo: str
    idempotency_key: str
    reverses_seq: int | None
    lines: tuple[Line, ...]
    prev_hash: str
    hash: str = ""


class UnbalancedEntry(ValueError):
    pass


def iso_utc(dt: datetime) -> str:
    """The one text form of a timestamp inside a hash: UTC, microseconds."""
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def check_lines(lines: Sequence[Line]) -> None:
    if len(lines) < 2:
        raise UnbalancedEntry("a journal entry needs at least two lines")
    for line in lines:
        if line.amount != line.amount.quantize(PENNY):
            raise UnbalancedEntry(f"{line.account_code}: {line.amount} is not a whole number of pennies")
    total = sum((line.amount for line in lines), Decimal(0))
    if total != 0:
        raise UnbalancedEntry(f"debits and credits differ by £{total}")


def entry_hash(record: EntryRecord) -> str:
    payload = {
        "seq": record.seq,
        "effective_at": record.effective_at,
        "created_at": record.created_at,
        "source": record.source,
        "reference": record.reference,
        "memo": record.memo,
        "key": record.idempotency_key,
        "reverses": record.reverses_seq,
        "lines": sorted((line.account_code, f"{line.amount:.2f}") for line in record.lines),
        "prev": record.prev_hash,
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str


def verify_chain(records: Iterable[EntryRecord]) -> list[ChainProblem]:
    """Walk entries in seq order; report every broken link, bad hash or unbalanced entry."""
    return verify_chain_from(records, prev_hash=GENESIS_HASH, first_seq=1)


def verify_chain_from(records: Iterable[EntryRecord], *, prev_hash: str, first_seq: int) -> list[ChainProblem]:
    """``verify_chain`` for a slice of the chain that continues after ``prev_hash``."""
    problems: list[ChainProblem] = []
    expected_seq = first_seq
    for rec in records:
        if rec.seq != expected_seq:
            problems.append(ChainProblem(rec.seq, f"sequence gap: expected #{expected_seq}"))
        if rec.prev_hash != prev_hash:
            problems.append(ChainProblem(rec.seq, "does not link to the previous entry's hash"))
        if entry_hash(rec) != rec.hash:
            problems.append(ChainProblem(rec.seq, "contents do not match the stored hash (altered)"))
        try:
            check_lines(rec.lines)
        except UnbalancedEntry as exc:
            problems.append(ChainProblem(rec.seq, f"unbalanced: {exc}"))
        prev_hash = rec.hash
        expected_seq = rec.seq + 1
    return problems
