"""Settling delivered periods against meter readings and posting to the ledger."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from community.errors import DomainError
from community.locks import advisory_lock
from community.models import LedgerAccount
from community.services import EntrySpec, ledger_account, ledger_post_many, ledger_reverse
from lem.domain import settlement as sm
from lem.models import (
    ClearingRun,
    Market,
    Participant,
    RuleVersion,
    SettlementLine,
    SettlementRun,
    Trade,
)
from lem.services.base import _ticks, floor_period, import_price_at, period_length, rules_in_force
from lem.services.orders import member_account


def _readings(market: Market, participants: list, start: datetime) -> tuple[dict[int, sm.Meter], str]:
    """Metered import/export per participant for [start, start + period)."""
    from assets.models import IntervalReading, Meter

    end = start + period_length(market)
    minutes = market.community.settlement_period_minutes
    site_to_p = {p.site_id: p.id for p in participants}
    rows = (
        IntervalReading.objects.filter(
            meter__site_id__in=site_to_p,
            meter__kind=Meter.Kind.SITE,
            period_start__gte=start,
            period_start__lt=end,
        )
        .values_list("meter__site_id", "period_minutes", "import_wh", "export_wh", "period_start")
        .order_by("meter__site_id", "period_start")
    )
    acc: dict[int, list[int]] = {}
    digest_rows = []
    for site_id, pm, imp, exp, ps in rows:
        a = acc.setdefault(site_to_p[site_id], [0, 0, 0])
        a[0] += pm
        a[1] += imp
        a[2] += exp
        digest_rows.append((site_id, int(ps.timestamp()), imp, exp))
    meters = {pid: sm.Meter(v[1], v[2]) for pid, v in acc.items() if v[0] >= minutes}
    return meters, readings_digest(np.array(digest_rows, dtype=np.int64).reshape(-1, 4))


def readings_digest(rows: np.ndarray) -> str:
    """SHA-256 of a period's readings: int64 rows (site id, epoch s, import Wh,
    export Wh) ordered by site then time. The batch path hashes the same bytes."""
    return hashlib.sha256(np.ascontiguousarray(rows, dtype="<i8").tobytes()).hexdigest()


def _rules_for(rule: RuleVersion, market: Market, period_start: datetime) -> sm.Rules:
    return sm.Rules(
        import_price=_ticks(import_price_at(rule, market, period_start)),
        export_price=_ticks(rule.export_price),
        fee_fixed_micro=int(rule.fee_per_trade_pence * sm.MICRO),
        fee_bp=int(rule.fee_pct * 100),
        fund_share_bp=int(rule.fund_share_pct * 100),
        social_bp=int(rule.social_discount_pct * 100),
        tolerance_bp=int(rule.tolerance_band_pct * 100),
    )


def _account(market: Market, key: str, cache: dict) -> LedgerAccount:
    if key in cache:
        return cache[key]
    c = market.community
    if key.startswith("member:"):
        p = Participant.objects.get(pk=int(key.split(":")[1]))
        acc = member_account(p)
    else:
        names = {
            sm.MARKET: ("Market clearing", LedgerAccount.Kind.ASSET),
            sm.SUPPLIER: ("Supplier (balancing party)", LedgerAccount.Kind.LIABILITY),
            sm.FUND: ("Community fund", LedgerAccount.Kind.LIABILITY),
            sm.OPERATOR: ("Market operator fees", LedgerAccount.Kind.INCOME),
            sm.ROUNDING: (
                "Settlement rounding (pennies between per-member lines and exact totals)",
                LedgerAccount.Kind.LIABILITY,
            ),
            "bank": ("Market bank account", LedgerAccount.Kind.ASSET),
        }
        name, kind = names[key]
        acc = ledger_account(community=c, code=f"lem:{key}", name=name, kind=kind)
    cache[key] = acc
    return acc


def _accounts(market: Market, keys: Iterable[str], cache: dict) -> dict:
    """Ledger accounts for settlement keys ('member:42', 'supplier', ...), in
    one query; the few missing ones are created once."""
    missing = [k for k in set(keys) if k not in cache]
    if missing:
        found = LedgerAccount.objects.filter(community=market.community, code__in=[f"lem:{k}" for k in missing])
        for acc in found:
            cache[acc.code[4:]] = acc
        members = [int(k.split(":")[1]) for k in missing if k not in cache and k.startswith("member:")]
        if members:  # first settlement of many members: create their accounts in one go
            LedgerAccount.objects.bulk_create(
                [
                    LedgerAccount(
                        community=market.community,
                        code=f"lem:member:{pid}",
                        name=f"Market member {pseudo}",
                        kind=LedgerAccount.Kind.ASSET,
                        user_id=uid,
                    )
                    for pid, uid, pseudo in Participant.objects.filter(pk__in=members).values_list(
                        "id", "user_id", "pseudonym"
                    )
                ],
                ignore_conflicts=True,
            )
            for acc in LedgerAccount.objects.filter(
                community=market.community, code__in=[f"lem:member:{m}" for m in members]
            ):
                cache[acc.code[4:]] = acc
        for k in missing:
            if k not in cache:
                _account(market, k, cache)
    return cache


def _lines_from_transfers(
    market: Market, transfers: list[sm.Transfer], cache: dict
) -> list[tuple[LedgerAccount, Decimal]]:
    """Net per account: the payer is debited (owes more), the payee credited."""
    net: dict[str, int] = {}
    for t in transfers:
        net[t.payer] = net.get(t.payer, 0) + t.amount_pence
        net[t.payee] = net.get(t.payee, 0) - t.amount_pence
    accounts = _accounts(market, net, cache)
    return [(accounts[k], Decimal(v) / 100) for k, v in sorted(net.items()) if v != 0]


@dataclass
class PeriodInputs:
    participants: list
    trades: list[sm.Trade]
    meters: dict[int, sm.Meter]
    readings_hash: str


def _period_inputs(market: Market, period_start: datetime) -> PeriodInputs:
    participants = list(
        market.participants.filter(active=True).order_by("pk").values_list("id", "site_id", "fuel_poor", named=True)
    )
    trades = [
        sm.Trade(t.pk, t.buyer_id, t.seller_id, t.quantity_wh, _ticks(t.buyer_price), _ticks(t.seller_price))
        for t in Trade.objects.filter(market=market, period_start=period_start).order_by("pk")
    ]
    meters, digest = _readings(market, participants, period_start)
    return PeriodInputs(participants, trades, meters, digest)


def _pence(x: int) -> Decimal:
    return Decimal(x) / 100


def _inputs_of(inputs: PeriodInputs, rules: sm.Rules) -> sm.PeriodInputs:
    """The period's settled inputs, as stored with its run (members all have meter data)."""
    parts = inputs.participants
    return sm.PeriodInputs(
        members=np.array([p.id for p in parts], dtype=np.int64),
        fuel_poor=np.array([p.fuel_poor for p in parts], dtype=bool),
        import_wh=np.array([inputs.meters[p.id].import_wh for p in parts], dtype=np.int64),
        export_wh=np.array([inputs.meters[p.id].export_wh for p in parts], dtype=np.int64),
        trades=np.array(
            [(t.trade_id, t.buyer, t.seller, t.qty_wh, t.buyer_price, t.seller_price) for t in inputs.trades],
            dtype=np.int64,
        ).reshape(-1, 6),
        rules=rules,
    )


def _lines_for(run: SettlementRun, members: Iterable[int], figures: dict[str, np.ndarray]) -> list[SettlementLine]:
    """A period's lines (unsaved, one per member) from its figures (1 x M, ``sm.line_figures``)."""
    money = sm.MONEY_FIELDS
    cols = {f: figures[f][0].tolist() for f in sm.LINE_FIELDS}
    return [
        SettlementLine(
            run=run,
            participant_id=m,
            period_start=run.period_start,
            periods=1,
            **{f: (_pence(cols[f][c]) if f in money else cols[f][c]) for f in sm.LINE_FIELDS},
        )
        for c, m in enumerate(members)
    ]


def _stored_inputs(run: SettlementRun) -> sm.PeriodInputs | None:
    return sm.PeriodInputs.unpack(run.inputs) if run.inputs else None


def settlement_settle_period(
    *, market: Market, period_start: datetime, now: datetime | None = None, actor: Any = None
) -> SettlementRun:
    """Settle one delivered period against its meter readings.

    Pending (and nothing posted) while any participant's readings are
    missing. Re-running with the same readings and trades changes nothing;
    late or corrected data bumps the revision, and the ledger gets a
    reversal of the old entry plus the new one, so nobody is charged twice.
    """
    now = now or timezone.now()
    if now < period_start + period_length(market):
        raise DomainError("That period has not been delivered yet.")
    with transaction.atomic():
        # one settlement of a market at a time, whichever worker runs it (see lem.batch)
        advisory_lock(f"lem:settlement:{market.pk}")
        run, _ = SettlementRun.objects.get_or_create(market=market, period_start=period_start)
        run = SettlementRun.objects.select_for_update().get(pk=run.pk)
        inputs = _period_inputs(market, period_start)
        rule = rules_in_force(market, period_start)
        state_hash = _state_hash(
            inputs.readings_hash,
            [(t.trade_id, t.qty_wh, t.buyer_price, t.seller_price) for t in inputs.trades],
            rule.pk,
            sorted(p.id for p in inputs.participants if p.fuel_poor),
        )
        if run.status == SettlementRun.Status.SETTLED and run.readings_hash == state_hash:
            return run
        rules = _rules_for(rule, market, period_start)
        result = sm.settle_period(
            members=[p.id for p in inputs.participants],
            trades=inputs.trades,
            meters=inputs.meters,
            rules=rules,
            fuel_poor=[p.id for p in inputs.participants if p.fuel_poor],
        )
        if result.status == "pending":
            run.missing = result.missing
            run.message = result.message
            run.rule = rule
            run.save(update_fields=["missing", "message", "rule", "updated_at"])
            return run
        was_settled = run.status == SettlementRun.Status.SETTLED
        old = _stored_inputs(run) if was_settled else None
        old_nets = _posted_nets(run, old) if was_settled else {}
        new = _inputs_of(inputs, rules)
        # the day's lines take the new figures, minus the old ones on a re-settlement
        from lem.batch import day_lines_add

        # (a member new to the period, or no longer in it, counts one period more or less)
        _, figs = sm.settle_inputs([new])
        day_lines_add(
            market=market,
            period_starts=[period_start],
            run_ids=[run.pk],
            members=new.members,
            figures=figs,
            periods=(~np.isin(new.members, old.members) if old is not None else np.ones(len(new.members)))[None, :],
        )
        if old is not None:
            _, figs = sm.settle_inputs([old])
            day_lines_add(
                market=market,
                period_starts=[period_start],
                run_ids=[run.pk],
                members=old.members,
                figures={k: -v for k, v in figs.items()},
                periods=-(~np.isin(old.members, new.members)).astype(np.int64)[None, :],
            )
        run.inputs = new.pack()
        if was_settled:
            run.revision += 1
        run.status = SettlementRun.Status.SETTLED
        run.readings_hash = state_hash
        run.rule = rule
        run.missing = []
        run.message = (
            "Settled." if not was_settled else f"Re-settled (revision {run.revision}) after late or corrected data."
        )
        run.settled_at = now
        run.save()
        _post_settlement(market, run, result, old_nets=old_nets)
        return run


def _state_hash(readings_digest: str, trades: list[tuple], rule_pk: int, fuel_poor_ids: list[int]) -> str:
    """What a settlement depends on: readings, trades, rule version, who is fuel poor."""
    return hashlib.sha256(
        (readings_digest + json.dumps([list(t) for t in trades]) + f"|rule{rule_pk}|fp{fuel_poor_ids}").encode()
    ).hexdigest()


def _settle_key(market: Market, run: SettlementRun, revision: int) -> str:
    return f"lem:settle:{market.pk}:{run.period_start.isoformat()}:r{revision}"


DAY_KEY = "lem:settle-day:"


def _posted_nets(run: SettlementRun, inputs: sm.PeriodInputs | None) -> dict[str, int]:
    """Pence (debit +) this period currently has in the ledger, per account key:
    the members' from its stored inputs settled again, the others as posted."""
    nets: dict[str, int] = {}
    if inputs is not None:
        res, _ = sm.settle_inputs([inputs])
        nets = {f"member:{m}": int(v) for m, v in zip(inputs.members.tolist(), res.member_net[0].tolist(), strict=True)}
    nets.update({k: int(v) for k, v in (run.account_nets or {}).items()})
    return {k: v for k, v in nets.items() if v}


def _nets_of(result: sm.PeriodSettlement) -> dict[str, int]:
    return {k: -v for k, v in result.net_by_account().items() if v}


def _post_settlement(
    market: Market,
    run: SettlementRun,
    result: sm.PeriodSettlement,
    cache: dict | None = None,
    old_nets: dict[str, int] | None = None,
) -> None:
    """Post the period's money. A re-settlement reverses the period's own
    entry and posts the new one; a period whose money sits in a batch day
    entry gets a correction entry with the difference instead (the day entry
    stays as it was: entries are never edited)."""
    from community.models import JournalEntry

    cache = {} if cache is None else cache
    nets = _nets_of(result)
    key = _settle_key(market, run, run.revision)
    stamp = f"{run.period_start:%Y-%m-%d %H:%M} UTC"
    if run.ledger_key.startswith(DAY_KEY) and run.posted_revision >= 0:
        delta = {k: nets.get(k, 0) - (old_nets or {}).get(k, 0) for k in set(nets) | set(old_nets or {})}
        delta = {k: v for k, v in delta.items() if v}
        if delta:
            accounts = _accounts(market, delta, cache)
            ledger_post_many(
                community=market.community,
                entries=[
                    EntrySpec(
                        lines=[(accounts[k], Decimal(v) / 100) for k, v in sorted(delta.items())],
                        memo=f"Correction: settlement of {stamp} revision {run.revision} (late or corrected data)",
                        source="lem.settlement",
                        idempotency_key=key + ":correction",
                        effective_at=run.period_start,
                        reference=f"period:{run.period_start.isoformat()}",
                    )
                ],
            )
    else:
        if run.posted_revision >= 0 and run.posted_revision != run.revision:
            old = JournalEntry.objects.filter(
                community=market.community,
                idempotency_key=run.ledger_key or _settle_key(market, run, run.posted_revision),
            ).first()
            if old is not None:
                ledger_reverse(
                    entry=old,
                    memo=f"Reversal: settlement of {stamp} r{run.posted_revision} (late data)",
                    idempotency_key=old.idempotency_key + ":reversal",
                )
        lines = _lines_from_transfers(market, result.transfers, cache)
        if lines:
            ledger_post_many(
                community=market.community,
                entries=[
                    EntrySpec(
                        lines=lines,
                        memo=f"Market settlement {stamp}" + (f" (revision {run.revision})" if run.revision else ""),
                        source="lem.settlement",
                        idempotency_key=key,
                        effective_at=run.period_start,
                        reference=f"period:{run.period_start.isoformat()}",
                    )
                ],
            )
        run.ledger_key = key
    run.account_nets = {k: v for k, v in nets.items() if not k.startswith("member:")}
    run.posted_revision = run.revision
    run.save(update_fields=["posted_revision", "ledger_key", "account_nets"])


def settlement_settle_due(
    *, market: Market, now: datetime | None = None, lookback: timedelta = timedelta(days=7)
) -> int:
    """Settle delivered periods that are unsettled, pending, or whose readings
    changed after they were settled (late data). Returns runs touched."""
    from assets.models import IntervalReading, Meter

    now = now or timezone.now()
    first = now - lookback
    delivered_before = now - period_length(market)
    runs = {r.period_start: r for r in SettlementRun.objects.filter(market=market, period_start__gte=first)}
    cleared = set(
        ClearingRun.objects.filter(
            market=market, period_start__gte=first, period_start__lte=delivered_before
        ).values_list("period_start", flat=True)
    )
    site_ids = list(market.participants.values_list("site_id", flat=True))
    latest: dict[datetime, datetime] = {}
    for ps, rec in IntervalReading.objects.filter(
        meter__site_id__in=site_ids,
        meter__kind=Meter.Kind.SITE,
        period_start__gte=first,
        period_start__lte=delivered_before,
    ).values_list("period_start", "received_at"):
        p = floor_period(market, ps)
        if p not in latest or rec > latest[p]:
            latest[p] = rec
    todo = []
    for p in sorted(cleared | set(latest)):
        if p > delivered_before:
            continue
        r = runs.get(p)
        if (
            r is None
            or r.status == SettlementRun.Status.PENDING
            or (r.settled_at and latest.get(p) and latest[p] > r.settled_at)
        ):
            todo.append(p)
    for p in todo:
        settlement_settle_period(market=market, period_start=p, now=now)
    return len(todo)
