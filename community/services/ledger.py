"""Write paths of the shared double-entry ledger (every app posts here).

Entries are append-only and hash-chained per community. Posting locks the
community's row so two workers can never take the same sequence number; an
idempotency key makes every posting safe to repeat (a task run twice, a
settlement re-run): the second call returns the stored entry and writes nothing.
Corrections are reversing entries (``ledger_reverse``), never edits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from community.domain import ledger as chain
from community.errors import DomainError
from community.models import Community, JournalEntry, JournalLine, LedgerAccount, LedgerCheck


@dataclass
class EntrySpec:
    """One entry to post. ``lines`` are (account, amount): debit positive, credit negative."""

    lines: Sequence[tuple[LedgerAccount, Decimal]]
    memo: str
    source: str
    idempotency_key: str
    effective_at: datetime | None = None
    reference: str = ""
    reverses: JournalEntry | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def ledger_account(*, community: Community, code: str, name: str, kind: str, user: Any | None = None) -> LedgerAccount:
    """Get or create the account with this code in the community's chart of accounts."""
    if kind not in LedgerAccount.Kind.values:
        raise DomainError(f"'{kind}' is not an account kind (use one of {', '.join(LedgerAccount.Kind.values)}).")
    account, _ = LedgerAccount.objects.get_or_create(
        community=community, code=code, defaults={"name": name, "kind": kind, "user": user}
    )
    return account


def _record(entry: JournalEntry, lines: Sequence[tuple[LedgerAccount, Decimal]], reverses_seq: int | None):
    return chain.EntryRecord(
        seq=entry.seq,
        effective_at=chain.iso_utc(entry.effective_at),
        created_at=chain.iso_utc(entry.created_at),
        source=entry.source,
        reference=entry.reference,
        memo=entry.memo,
        idempotency_key=entry.idempotency_key,
        reverses_seq=reverses_seq,
        lines=tuple(chain.Line(acc.code, Decimal(amount)) for acc, amount in lines),
        prev_hash=entry.prev_hash,
    )


def _validate(spec: EntrySpec, community: Community) -> None:
    if not spec.idempotency_key:
        raise DomainError("Every ledger posting needs an idempotency key.")
    for account, _ in spec.lines:
        if account.community_id != community.pk:
            raise DomainError(f"Account {account.code} belongs to another community.")
    try:
        chain.check_lines([chain.Line(a.code, Decimal(x)) for a, x in spec.lines])
    except chain.UnbalancedEntry as exc:
        raise DomainError(f"Ledger entry '{spec.memo}' is not balanced: {exc}.") from exc


def _same_lines(entry: JournalEntry, spec: EntrySpec) -> bool:
    stored = sorted((line.account_id, line.amount) for line in entry.lines.all())
    wanted = sorted((acc.pk, Decimal(x)) for acc, x in spec.lines)
    return stored == wanted


@transaction.atomic
def ledger_post_many(
    *, community: Community, entries: Sequence[EntrySpec], actor: Any | None = None
) -> list[JournalEntry]:
    """Post several entries in one transaction (all or nothing), in order.

    Entries whose idempotency key is already stored are not posted again; the
    stored entry is returned in their place (and must carry the same lines —
    a different amount under the same key is refused: post a reversal instead).
    """
    for spec in entries:
        _validate(spec, community)
    keys = [s.idempotency_key for s in entries]
    if len(set(keys)) != len(keys):
        raise DomainError("The same idempotency key appears twice in one posting.")
    # The lock serialises sequence numbers per community (SQLite: IMMEDIATE transactions).
    Community.objects.select_for_update().filter(pk=community.pk).first()
    existing = {
        e.idempotency_key: e
        for e in JournalEntry.objects.filter(community=community, idempotency_key__in=keys).prefetch_related("lines")
    }
    last = JournalEntry.objects.filter(community=community).order_by("-seq").values("seq", "hash").first()
    seq = last["seq"] if last else 0
    prev_hash = last["hash"] if last else chain.GENESIS_HASH
    now = timezone.now()
    user = actor if getattr(actor, "is_authenticated", False) else None

    result: list[JournalEntry] = []
    new_entries: list[JournalEntry] = []
    new_lines: list[tuple[JournalEntry, Sequence[tuple[LedgerAccount, Decimal]]]] = []
    for spec in entries:
        stored = existing.get(spec.idempotency_key)
        if stored is not None:
            if not _same_lines(stored, spec):
                raise DomainError(
                    f"Ledger key '{spec.idempotency_key}' was already posted with different amounts; "
                    "post a reversing entry to correct it."
                )
            result.append(stored)
            continue
        seq += 1
        entry = JournalEntry(
            community=community,
            seq=seq,
            effective_at=spec.effective_at or now,
            created_at=now,
            source=spec.source,
            reference=spec.reference,
            memo=spec.memo[:300],
            idempotency_key=spec.idempotency_key,
            reverses=spec.reverses,
            created_by=user,
            prev_hash=prev_hash,
        )
        entry.hash = chain.entry_hash(
            _record(entry, spec.lines, spec.reverses.seq if spec.reverses is not None else None)
        )
        prev_hash = entry.hash
        new_entries.append(entry)
        new_lines.append((entry, spec.lines))
        result.append(entry)
    if new_entries:
        JournalEntry.objects.bulk_create(new_entries, batch_size=2000)
        JournalLine.objects.bulk_create(
            [JournalLine(entry=e, account=acc, amount=Decimal(x)) for e, lines in new_lines for acc, x in lines],
            batch_size=5000,
        )
    return result


def ledger_post(
    *,
    community: Community,
    lines: Sequence[tuple[LedgerAccount, Decimal]],
    memo: str,
    source: str,
    idempotency_key: str,
    effective_at: datetime | None = None,
    reference: str = "",
    actor: Any | None = None,
) -> JournalEntry:
    """Post one balanced entry (idempotent by key)."""
    spec = EntrySpec(
        lines=lines,
        memo=memo,
        source=source,
        idempotency_key=idempotency_key,
        effective_at=effective_at,
        reference=reference,
    )
    return ledger_post_many(community=community, entries=[spec], actor=actor)[0]


def ledger_reverse(*, entry: JournalEntry, memo: str, idempotency_key: str, actor: Any | None = None) -> JournalEntry:
    """Correct a posted entry with a new entry carrying the opposite lines."""
    lines = [(line.account, -line.amount) for line in entry.lines.select_related("account")]
    spec = EntrySpec(
        lines=lines,
        memo=memo,
        source=entry.source,
        idempotency_key=idempotency_key,
        effective_at=entry.effective_at,
        reference=entry.reference,
        reverses=entry,
    )
    return ledger_post_many(community=entry.community, entries=[spec], actor=actor)[0]


def ledger_check_record(*, community: Community) -> LedgerCheck:
    """Verify the community's chain and keep the result (who may ask later: "when was it last proven?")."""
    from community.selectors import ledger_verify

    result = ledger_verify(community)
    return LedgerCheck.objects.create(
        community=community,
        ok=result.ok,
        entries=result.entries,
        problems=[{"seq": p.seq, "problem": p.problem} for p in result.problems[:100]],
    )
