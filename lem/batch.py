"""Settling many periods at once (a month of supplier meter data).

The same result, penny for penny, as ``services.settlement_settle_period``
run period by period (``lem.domain.settlement.settle_batch`` is tested to be
equal to ``settle_period``), with the same state hashes and ledger keys, so
the per-period path later sees these periods as settled and only re-settles
them on late or corrected data.

Lines are one per member and local day (issue 14 item 10): a month of 1,000
homes is 31,000 rows, not 1.44 M. Writing the half-hourly rows took 13-23 s
on PostgreSQL whatever their width (COPY into a bare table), more than the
month's goal of 10 s; each run keeps its inputs packed instead
(``SettlementRun.inputs``), from which a half-hour's lines are settled again
on demand (``lem.selectors.statement_periods``). Both paths add to the day
lines through ``day_lines_add``: the batch settles only periods not settled
before, so it only adds; a re-settlement adds new minus old.

Reads: one query per table; the readings in time order, packed server-side
as fixed-width records and read by numpy. Day lines go in with one binary
COPY on PostgreSQL.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from community.locks import advisory_lock
from community.services import EntrySpec, ledger_post_many
from lem import services as sv
from lem.domain import settlement as sm
from lem.models import Market, RuleVersion, SettlementLine, SettlementRun, Trade


def _readings(market: Market, site_ids: list[int], start: datetime, end: datetime) -> np.ndarray:
    """int64 rows (site_id, epoch seconds, minutes, import, export), in no particular order."""
    from assets.models import IntervalReading, Meter

    meters = list(
        Meter.objects.filter(kind=Meter.Kind.SITE, site_id__in=site_ids).order_by("pk").values_list("pk", "site_id")
    )
    if not meters:
        return np.zeros((0, 5), dtype=np.int64)
    r = IntervalReading._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    site_of = np.array(meters, dtype=np.int64)
    if connection.vendor != "postgresql":
        sql = (
            "SELECT r.meter_id, CAST(strftime('%%s', r.period_start) AS INTEGER), r.period_minutes, "
            f"r.import_wh, r.export_wh FROM {r} r WHERE r.period_start >= %s AND r.period_start < %s "
            f"AND r.meter_id IN ({','.join(['%s'] * len(meters))})"
        )
        with connection.cursor() as c:
            c.execute(sql, [adapt(start), adapt(end), *site_of[:, 0].tolist()])
            rows = np.array(c.fetchall(), dtype=np.int64).reshape(-1, 5)
    else:
        # Readings arrive period by period, so one meter's month is spread over
        # the table, a page per reading. One bitmap over the (meter, period)
        # index for all the market's meters at once visits each page holding
        # them once, in page order, and no other community's pages. The ids go
        # in as ARRAY(SELECT unnest(...)): with a literal array the planner
        # prefers the (period, meter) index and reads every meter's readings
        # in the range (3x slower with a few markets in the table). Rows are
        # packed server-side as fixed-width big-endian records (meter int8,
        # seconds since ``start`` int4, minutes int2, import int4, export
        # int4), a week per value (a bytea holds up to 1 GB: ~500,000 homes'
        # week), so Python handles no tuple per reading.
        sql = (
            "SELECT string_agg(int8send(r.meter_id) || int4send((extract(epoch FROM r.period_start) - %s)::int4) "
            "|| int2send(r.period_minutes) || int4send(r.import_wh) || int4send(r.export_wh), ''::bytea) "
            f"FROM {r} r WHERE r.period_start >= %s AND r.period_start < %s AND r.meter_id = ANY(ARRAY(SELECT unnest(%s::int8[])))"
        )
        epoch0, blobs, a = int(start.timestamp()), [], start
        with connection.cursor() as c:
            while a < end:
                b = min(a + timedelta(days=7), end)
                c.execute(sql, [epoch0, adapt(a), adapt(b), site_of[:, 0].tolist()])
                blobs.append(bytes(c.fetchone()[0] or b""))
                a = b
        rec = np.frombuffer(b"".join(blobs), dtype=_READING)
        rows = np.empty((len(rec), 5), dtype=np.int64)
        rows[:, 0], rows[:, 2], rows[:, 3], rows[:, 4] = rec["s"], rec["m"], rec["i"], rec["e"]
        rows[:, 1] = rec["t"].astype(np.int64) + epoch0
    # meter id -> site id
    idx = np.searchsorted(site_of[:, 0], rows[:, 0])
    rows[:, 0] = site_of[idx, 1]
    return rows


_READING = np.dtype([("s", ">i8"), ("t", ">i4"), ("m", ">i2"), ("i", ">i4"), ("e", ">i4")])


# PostgreSQL's binary COPY: an 11-byte signature, flags and header-extension
# length (int32 each), then per row an int16 field count and, per field, an
# int32 length and the value (big-endian); a trailing int16 -1.
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_COPY_HEADER = _COPY_SIGNATURE + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_COPY_TRAILER = b"\xff\xff"


def _rule_for(rules: list[RuleVersion], at: datetime) -> RuleVersion:
    for r in rules:  # newest effective first
        if r.effective_from <= at:
            return r
    raise sv.DomainError("The market has no rules in force for that time.")


def settlement_settle_range(
    *, market: Market, start: datetime, end: datetime, now: datetime | None = None
) -> dict[str, int]:
    """Settle every delivered, not yet settled period in [start, end).

    Two workers may run this for the same market at once (a month batch and a
    re-run): the market's settlement advisory lock makes the second wait, and it
    then sees the first one's runs as settled and does nothing twice."""
    with transaction.atomic():
        advisory_lock(f"lem:settlement:{market.pk}")
        return _settle_range(market=market, start=start, end=end, now=now)


def _settle_range(*, market: Market, start: datetime, end: datetime, now: datetime | None) -> dict[str, int]:
    now = now or timezone.now()
    step = sv.period_length(market)
    minutes = market.community.settlement_period_minutes
    periods = []
    t = sv.floor_period(market, start)
    while t < end and t + step <= now:
        periods.append(t)
        t += step
    if not periods:
        return {"settled": 0, "pending": 0, "skipped": 0}
    done = set(
        SettlementRun.objects.filter(
            market=market, period_start__in=periods, status=SettlementRun.Status.SETTLED
        ).values_list("period_start", flat=True)
    )
    todo = [p for p in periods if p not in done]
    parts = list(
        market.participants.filter(active=True).order_by("pk").values_list("id", "site_id", "fuel_poor", named=True)
    )
    M, P = len(parts), len(todo)
    if not todo or not M:
        return {"settled": 0, "pending": 0, "skipped": len(periods) - len(todo)}
    col = {p.site_id: i for i, p in enumerate(parts)}
    epoch0 = int(todo[0].timestamp())
    step_s = int(step.total_seconds())
    row_of = {int(p.timestamp()): i for i, p in enumerate(todo)}

    rows = _readings(market, list(col), todo[0], todo[-1] + step)
    site_col = np.full(max(int(rows[:, 0].max(initial=0)), max(col)) + 1, -1, dtype=np.int64)
    for site_id, c in col.items():
        site_col[site_id] = c
    pstart = epoch0 + (rows[:, 1] - epoch0) // step_s * step_s
    row_idx = (pstart - epoch0) // step_s
    # todo may skip settled periods: map each aligned start to its row (or drop it)
    lookup = np.full(int(row_idx.max(initial=0)) + 1, -1, dtype=np.int64)
    for ep, r in row_of.items():
        k = (ep - epoch0) // step_s
        if 0 <= k < len(lookup):
            lookup[k] = r
    keep = (row_idx >= 0) & (row_idx < len(lookup))
    rows, row_idx = rows[keep], row_idx[keep]
    r_of = lookup[row_idx]
    rows, r_of = rows[r_of >= 0], r_of[r_of >= 0]
    c_of = site_col[rows[:, 0]]
    imp = np.zeros((P, M), dtype=np.int64)
    exp = np.zeros((P, M), dtype=np.int64)
    cover = np.zeros((P, M), dtype=np.int64)
    np.add.at(imp, (r_of, c_of), rows[:, 3])
    np.add.at(exp, (r_of, c_of), rows[:, 4])
    np.add.at(cover, (r_of, c_of), rows[:, 2])
    # per-period digests over (site, epoch, import, export), site then time, as the per-period path
    order = np.lexsort((rows[:, 1], rows[:, 0], r_of))
    rows, r_of = rows[order], r_of[order]
    bounds = np.searchsorted(r_of, np.arange(P + 1))
    digests = [sv.readings_digest(rows[bounds[r] : bounds[r + 1]][:, [0, 1, 3, 4]]) for r in range(P)]
    complete = (cover >= minutes).all(axis=1)

    # trades, in (period, id) order
    trows = list(
        Trade.objects.filter(market=market, period_start__gte=todo[0], period_start__lte=todo[-1])
        .order_by("period_start", "id")
        .values_list("id", "period_start", "buyer_id", "seller_id", "quantity_wh", "buyer_price", "seller_price")
    )
    pidx = {p.id: i for i, p in enumerate(parts)}
    per_trades: dict[int, list[tuple]] = {}
    for tid, ps, b, s, q, bp, sp in trows:
        r = row_of.get(int(ps.timestamp()))
        if r is not None:
            per_trades.setdefault(r, []).append((tid, b, s, q, sv._ticks(bp), sv._ticks(sp)))

    rules = list(
        RuleVersion.objects.filter(market=market, status=RuleVersion.Status.APPROVED).order_by(
            "-effective_from", "-number"
        )
    )
    rule_rows = [_rule_for(rules, p) for p in todo]
    dom = [sv._rules_for(r, market, p) for r, p in zip(rule_rows, todo, strict=True)]
    fp_ids = sorted(p.id for p in parts if p.fuel_poor)

    ok = np.flatnonzero(complete)
    sel_trades = [(k, *t) for k, r in enumerate(ok) for t in per_trades.get(int(r), [])]
    arr = np.array([t[:1] + t[2:] for t in sel_trades], dtype=np.int64).reshape(-1, 6)
    res = sm.settle_batch(
        import_wh=imp[ok],
        export_wh=exp[ok],
        trade_period=arr[:, 0],
        trade_buyer=np.array([pidx[x] for x in arr[:, 1]], dtype=np.int64),
        trade_seller=np.array([pidx[x] for x in arr[:, 2]], dtype=np.int64),
        trade_qty=arr[:, 3],
        trade_buyer_price=arr[:, 4],
        trade_seller_price=arr[:, 5],
        import_price=np.array([dom[r].import_price for r in ok], dtype=np.int64),
        export_price=np.array([dom[r].export_price for r in ok], dtype=np.int64),
        fee_fixed_micro=np.array([dom[r].fee_fixed_micro for r in ok], dtype=np.int64),
        fee_bp=np.array([dom[r].fee_bp for r in ok], dtype=np.int64),
        fund_share_bp=np.array([dom[r].fund_share_bp for r in ok], dtype=np.int64),
        social_bp=np.array([dom[r].social_bp for r in ok], dtype=np.int64),
        tolerance_bp=np.array([dom[r].tolerance_bp for r in ok], dtype=np.int64),
        fuel_poor=np.array([p.fuel_poor for p in parts], dtype=bool),
    )
    ip = np.array([dom[r].import_price for r in ok], dtype=np.int64)
    figs = sm.line_figures(res, imp[ok], exp[ok], ip, np.array([dom[r].export_price for r in ok], dtype=np.int64))
    member_ids = np.array([p.id for p in parts], dtype=np.int64)
    fuel_poor = np.array([p.fuel_poor for p in parts], dtype=bool)

    with transaction.atomic():
        existing = {
            r.period_start: r
            for r in SettlementRun.objects.select_for_update().filter(market=market, period_start__in=todo)
        }
        runs: list[SettlementRun] = []
        new_runs = []
        for r, p in enumerate(todo):
            run = existing.get(p) or SettlementRun(market=market, period_start=p)
            run.rule = rule_rows[r]
            if complete[r]:
                run.status = SettlementRun.Status.SETTLED
                run.readings_hash = sv._state_hash(
                    digests[r],
                    [(t[0], t[3], t[4], t[5]) for t in per_trades.get(r, [])],
                    rule_rows[r].pk,
                    fp_ids,
                )
                run.missing, run.message, run.settled_at, run.posted_revision = [], "Settled.", now, run.revision
                run.inputs = sm.PeriodInputs(
                    members=member_ids,
                    fuel_poor=fuel_poor,
                    import_wh=imp[r],
                    export_wh=exp[r],
                    trades=np.array(
                        [(t[0], t[1], t[2], t[3], t[4], t[5]) for t in per_trades.get(r, [])], dtype=np.int64
                    ).reshape(-1, 6),
                    rules=dom[r],
                ).pack()
            else:
                run.missing = [parts[c].id for c in np.flatnonzero(cover[r] < minutes)]
                run.message = f"Waiting for meter readings of {len(run.missing)} member(s)."
            (runs if run.pk else new_runs).append(run)
        ordered = _in_order(todo, runs, new_runs)
        settled_runs = [ordered[r] for r in ok]
        specs = _day_entries(market, settled_runs, parts, res)  # sets each run's ledger_key and account_nets
        # new runs go in whole (one INSERT ... RETURNING id); only runs that
        # already existed (pending ones) are updated
        SettlementRun.objects.bulk_create(new_runs, batch_size=2000)
        if runs:
            SettlementRun.objects.bulk_update(
                runs,
                [
                    "rule",
                    "status",
                    "readings_hash",
                    "missing",
                    "message",
                    "settled_at",
                    "posted_revision",
                    "account_nets",
                    "ledger_key",
                    "inputs",
                ],
                batch_size=500,
            )
        # only periods not settled before are settled here: their lines add to the days' lines
        day_lines_add(
            market=market,
            period_starts=[x.period_start for x in settled_runs],
            run_ids=[x.pk for x in settled_runs],
            members=member_ids,
            figures=figs,
            periods=np.ones(len(settled_runs), dtype=np.int64),
        )
        ledger_post_many(community=market.community, entries=specs)
    return {"settled": len(ok), "pending": int(P - len(ok)), "skipped": len(periods) - len(todo)}


def _in_order(todo: list[datetime], *groups: list[SettlementRun]) -> list[SettlementRun]:
    by_period = {run.period_start: run for g in groups for run in g}
    return [by_period[p] for p in todo]


LINE_COLUMNS = ("run_id", "participant_id", "period_start", *sm.LINE_FIELDS, "periods")
# Binary COPY field types of LINE_COLUMNS (int8 ids, timestamptz, int4 energy,
# numeric(14,2) money).
_TYPES = {"run_id": "int8", "participant_id": "int8", "period_start": "timestamptz"}
_LINE_TYPES = tuple(_TYPES.get(c, "numeric" if c in sm.MONEY_FIELDS else "int4") for c in LINE_COLUMNS)
_PG_EPOCH_S = 946_684_800  # 2000-01-01 UTC, PostgreSQL's timestamp zero
_MAX_PENCE = 10**14 - 1  # numeric(14, 2)


def day_start(market: Market, at: datetime, tz: ZoneInfo | None = None) -> datetime:
    """Start of the local day holding ``at`` (a UTC instant): the key of a day's lines."""
    tz = tz or ZoneInfo(market.community.timezone)
    local = at.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return local.astimezone(UTC)


def day_lines_add(
    *,
    market: Market,
    period_starts: list[datetime],
    run_ids: list[int],
    members: np.ndarray,
    figures: dict[str, np.ndarray],
    periods: np.ndarray,
) -> int:
    """Add K periods' line figures (K x M pence / Wh, members' participant ids
    in ``members``) to their members' day lines, creating missing ones.

    ``periods`` (K, or K x M per member): +1 when the period is settled for
    the first time, 0 when a settled period's difference is added (a
    re-settlement adds new minus old), -1 for a member it no longer has.
    Called inside the transaction holding the market's settlement lock, so
    no other writer touches these rows. Returns the lines written."""
    K, M = len(period_starts), len(members)
    if not K or not M:
        return 0
    tz = ZoneInfo(market.community.timezone)
    day_of = [day_start(market, p, tz) for p in period_starts]
    days = sorted(set(day_of))
    d_index = {d: i for i, d in enumerate(days)}
    d_of_k = np.array([d_index[d] for d in day_of], dtype=np.int64)
    D = len(days)
    order = np.argsort(d_of_k, kind="stable")
    starts = np.searchsorted(d_of_k[order], np.arange(D))
    sums = {f: np.add.reduceat(np.asarray(figures[f], dtype=np.int64)[order], starts, axis=0) for f in sm.LINE_FIELDS}
    per = np.asarray(periods, dtype=np.int64)
    per = np.broadcast_to(per[:, None] if per.ndim == 1 else per, (K, M))
    count = np.add.reduceat(per[order], starts, axis=0)
    run_of = np.array([run_ids[order[i]] for i in starts], dtype=np.int64)[:, None].repeat(M, axis=1)
    col = {int(m): c for c, m in enumerate(members.tolist())}
    old = SettlementLine.objects.filter(participant_id__in=col, period_start__in=days)
    found = False
    for row in old.values_list("participant_id", "period_start", "run_id", "periods", *sm.LINE_FIELDS):
        found = True
        c, d = col[row[0]], d_index[row[1]]
        run_of[d, c] = row[2]
        count[d, c] += row[3]
        for f, v in zip(sm.LINE_FIELDS, row[4:], strict=True):
            sums[f][d, c] += int(v * 100) if f in sm.MONEY_FIELDS else v
    if found:
        old.delete()
    keep = count > 0
    if ((~keep) & np.logical_or.reduce([sums[f] != 0 for f in sm.LINE_FIELDS])).any():
        raise sv.DomainError("A day's settlement lines would keep money without a settled period.")
    values = {
        "run_id": run_of[keep],
        "participant_id": np.broadcast_to(members, (D, M))[keep],
        "period_start": np.broadcast_to(np.array(days, dtype=object)[:, None], (D, M))[keep],
        **{f: sums[f][keep] for f in sm.LINE_FIELDS},
        "periods": count[keep],
    }
    _write_lines(values)
    return int(keep.sum())


def _write_lines(values: dict[str, np.ndarray]) -> None:
    """Day lines: bulk_create elsewhere, one binary COPY on PostgreSQL."""
    n = len(values["run_id"])
    if not n:
        return
    if connection.vendor != "postgresql":
        money = sm.MONEY_FIELDS
        SettlementLine.objects.bulk_create(
            [
                SettlementLine(
                    **{
                        c: (Decimal(int(values[c][i])) / 100 if c in money else values[c][i])
                        for c in LINE_COLUMNS
                        if c != "period_start"
                    },
                    period_start=values["period_start"][i],
                )
                for i in range(n)
            ],
            batch_size=2000,
        )
        return
    table = SettlementLine._meta.db_table
    with connection.cursor() as c:
        with c.cursor.copy(f"COPY {table} ({', '.join(LINE_COLUMNS)}) FROM STDIN (FORMAT binary)") as cp:
            cp.write(_COPY_HEADER)
            cp.write(_line_records(values).tobytes())
            cp.write(_COPY_TRAILER)


def _numeric_fields(pence: np.ndarray) -> dict[str, np.ndarray]:
    """Pence as PostgreSQL's binary numeric: 4 base-10,000 digits with weight 2
    and display scale 2 (pounds up to 10^12 - 1; leading zero digits are allowed
    and stripped by the server), so every value has the same width."""
    v = np.asarray(pence, dtype=np.int64).reshape(-1)
    a = np.abs(v)
    if (a > _MAX_PENCE).any():
        raise sv.DomainError("A settlement amount is too large to store.")
    pounds, p = np.divmod(a, 100)
    return {
        "sign": np.where(v < 0, 0x4000, 0),
        "d0": pounds // 10**8,
        "d1": pounds // 10**4 % 10**4,
        "d2": pounds % 10**4,
        "d3": p * 100,
    }


def _line_records(values: dict[str, np.ndarray]) -> np.ndarray:
    """The lines as binary COPY tuples: one fixed-width big-endian record each."""
    n = len(values["run_id"])
    fields: list[tuple[str, str]] = [("n", ">i2")]
    for i, t in enumerate(_LINE_TYPES):
        fields.append((f"l{i}", ">i4"))
        if t == "numeric":
            fields += [(f"h{i}_{x}", ">i2") for x in ("ndigits", "weight", "sign", "dscale", "d0", "d1", "d2", "d3")]
        else:
            fields.append((f"v{i}", ">i4" if t == "int4" else ">i8"))
    rec = np.zeros(n, dtype=np.dtype(fields))
    rec["n"] = len(_LINE_TYPES)
    for i, (name, t) in enumerate(zip(LINE_COLUMNS, _LINE_TYPES, strict=True)):
        if t == "timestamptz":
            v = np.array([int(x.timestamp()) - _PG_EPOCH_S for x in values[name]], dtype=np.int64) * 10**6
        else:
            v = np.asarray(values[name], dtype=np.int64).reshape(-1)
        if t == "numeric":
            rec[f"l{i}"] = 16
            rec[f"h{i}_ndigits"], rec[f"h{i}_weight"], rec[f"h{i}_dscale"] = 4, 2, 2
            for x, col in _numeric_fields(v).items():
                rec[f"h{i}_{x}"] = col
        else:
            if t == "int4" and ((v < 0) | (v > 2**31 - 1)).any():
                raise sv.DomainError("A settlement energy figure is out of range.")
            rec[f"l{i}"] = 4 if t == "int4" else 8
            rec[f"v{i}"] = v
    return rec


def _day_entries(market: Market, settled_runs, parts, res) -> list[EntrySpec]:
    """One ledger entry per day of the batch (local time), netting each
    account over the day's periods: a month is ~30 entries, not 1,440.
    Each run records the key and its own share (account_nets) so a later
    correction of one period posts exactly the difference."""
    cache: dict[str, Any] = {}
    sv._accounts(market, [f"member:{p.id}" for p in parts] + [sm.SUPPLIER, sm.OPERATOR, sm.FUND, sm.ROUNDING], cache)
    member_acc = [cache[f"member:{p.id}"] for p in parts]
    tz = ZoneInfo(market.community.timezone)
    days: dict[Any, list[int]] = {}
    for k, run in enumerate(settled_runs):
        days.setdefault(run.period_start.astimezone(tz).date(), []).append(k)
    net = res.member_net
    specs = []
    for day, ks in sorted(days.items()):
        runs = [settled_runs[k] for k in ks]
        tag = hashlib.sha256("|".join(r.period_start.isoformat() for r in runs).encode()).hexdigest()[:12]
        key = f"{sv.DAY_KEY}{market.pk}:{day.isoformat()}:{tag}"
        member_sum = net[ks].sum(axis=0)
        lines = [(member_acc[c], Decimal(int(v)) / 100) for c, v in enumerate(member_sum.tolist()) if v]
        acc_sum: dict[str, int] = {}
        for k, run in zip(ks, runs, strict=True):
            nets = {a: v for a, v in res.account_nets(k).items() if v}
            run.account_nets, run.ledger_key = nets, key
            for a, v in nets.items():
                acc_sum[a] = acc_sum.get(a, 0) + v
        lines += [(cache[a], Decimal(v) / 100) for a, v in sorted(acc_sum.items()) if v]
        if lines:
            specs.append(
                EntrySpec(
                    lines=lines,
                    memo=f"Market settlement {day:%d %b %Y}: {len(runs)} periods (batch)",
                    source="lem.settlement",
                    idempotency_key=key,
                    effective_at=runs[0].period_start,
                    reference=f"day:{day.isoformat()}",
                )
            )
    return specs


def month_range(market: Market, year: int, month: int) -> tuple[datetime, datetime]:
    tz = ZoneInfo(market.community.timezone)
    a = datetime(year, month, 1, tzinfo=tz)
    b = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
    return a.astimezone(UTC), b.astimezone(UTC)


__all__ = ["settlement_settle_range", "month_range", "timedelta"]
