"""Read paths of the market, shared by views, API and tasks.

Privacy (ARCHITECTURE.md): a household sees its own orders, trades and
bills; the public order book shows pseudonyms only; operators see all.
vpp may read the market through this module (the market trades first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from community.errors import DomainError
from community.models import Community, JournalLine, Role
from lem.domain.settlement import MONEY_FIELDS
from lem.models import (
    ClearingRun,
    Market,
    MonthlyCharge,
    Order,
    Participant,
    RuleVersion,
    SettlementLine,
    SettlementRun,
    Trade,
)
from lem.services import floor_period, gate_closure, month_bounds, period_length, rules_in_force

ZERO = Decimal("0.00")


def _money(x) -> Decimal:
    return Decimal(x or 0).quantize(Decimal("0.01"))


def market_for(community: Community) -> Market | None:
    return Market.objects.filter(community=community).select_related("community").first()


def participants_of(user: Any, market: Market) -> list[Participant]:
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        Participant.objects.filter(market=market, site__occupants=user).select_related("site").distinct().order_by("pk")
    )


def balances(market: Market) -> dict[int, Decimal]:
    """Participant id -> what they owe (+) / are owed (-), from the ledger."""
    rows = (
        JournalLine.objects.filter(account__community=market.community, account__code__startswith="lem:member:")
        .values_list("account__code")
        .annotate(s=Sum("amount"))
    )
    return {int(code.rsplit(":", 1)[1]): _money(s) for code, s in rows}


def balance_of(participant: Participant) -> Decimal:
    return balances(participant.market).get(participant.pk, ZERO)


def arrears(market: Market) -> list[tuple[Participant, Decimal]]:
    owed = balances(market)
    parts = Participant.objects.filter(market=market, pk__in=owed).select_related("site", "user")
    out = [(p, owed[p.pk]) for p in parts if owed[p.pk] > p.credit_limit]
    return sorted(out, key=lambda x: -x[1])


def next_open_period(market: Market, now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    p = floor_period(market, now) + period_length(market)
    while gate_closure(market, p) <= now:
        p += period_length(market)
    return p


# -------------------------------------------------------------- order book


@dataclass
class BookRow:
    side: str
    pseudonym: str
    quantity_wh: int
    price: Decimal
    filled_wh: int
    status: str


def public_book(market: Market, period_start: datetime) -> list[BookRow]:
    rows = (
        Order.objects.filter(market=market, period_start=period_start)
        .exclude(status=Order.Status.CANCELLED)
        .values_list("side", "participant__pseudonym", "quantity_wh", "price", "filled_wh", "status")
        .order_by("side", "-price", "submitted_at")
    )
    out = [BookRow(*r) for r in rows]
    bids = sorted([r for r in out if r.side == "bid"], key=lambda r: -r.price)
    offers = sorted([r for r in out if r.side == "offer"], key=lambda r: r.price)
    return bids + offers


def recent_runs(market: Market, limit: int = 48) -> list[ClearingRun]:
    return list(ClearingRun.objects.filter(market=market).order_by("-period_start")[:limit])


def community_summary(market: Market, since: datetime) -> dict:
    """Aggregates anyone in the community may see: local share and money kept local."""
    lines = SettlementLine.objects.filter(participant__market=market, period_start__gte=since).aggregate(
        bought=Sum("bought_wh"),
        imp=Sum("import_wh"),
        local=Sum("local_cost"),
    )
    imp = lines["imp"] or 0
    bought = lines["bought"] or 0
    return {
        "local_share_pct": round(100 * bought / imp, 1) if imp else 0.0,
        "local_wh": bought,
        "import_wh": imp,
        "money_kept_local": _money(lines["local"]),
    }


# -------------------------------------------------------------- household


def my_orders(participant: Participant, since: datetime) -> list[Order]:
    return list(
        Order.objects.filter(participant=participant, period_start__gte=since).order_by("-period_start", "-id")[:200]
    )


def my_trades(participant: Participant, since: datetime) -> list[Trade]:
    return list(
        Trade.objects.filter(Q(buyer=participant) | Q(seller=participant), period_start__gte=since)
        .select_related("buyer", "seller")
        .order_by("period_start", "id")
    )


# -------------------------------------------------------------- statements


@dataclass
class Statement:
    participant: Participant
    month: date
    bought_local_wh: int = 0
    sold_local_wh: int = 0
    from_supplier_wh: int = 0
    to_supplier_wh: int = 0
    local_cost: Decimal = ZERO
    local_income: Decimal = ZERO
    supplier_cost: Decimal = ZERO
    supplier_income: Decimal = ZERO
    fees: Decimal = ZERO
    discount: Decimal = ZERO
    membership_fee: Decimal = ZERO
    supplier_only: Decimal = ZERO
    periods_settled: int = 0
    periods_pending: int = 0
    sources: list[dict] = field(default_factory=list)
    days: list[dict] = field(default_factory=list)
    tolerance_band_pct: Decimal = ZERO  # the rules' tolerance band in force at the month's start
    fee_cap_pct: Decimal | None = None  # the rules' cap on the membership fee (share of the month's saving)
    band_wh: int = 0  # of the supplier energy, what settled inside the band (at the local price)
    band_cost: Decimal = ZERO  # its net cost (+) / credit (-), part of the supplier figures

    @property
    def tolerance_note(self) -> str:
        """How deviations from what was traded were settled (seed 001 §3.5.1)."""
        from lem.statement_words import tolerance_note

        return tolerance_note(self.tolerance_band_pct)

    @property
    def total(self) -> Decimal:
        return (
            self.local_cost
            - self.local_income
            + self.supplier_cost
            - self.supplier_income
            + self.fees
            - self.discount
            + self.membership_fee
        )

    @property
    def savings(self) -> Decimal:
        return self.supplier_only - self.total

    @property
    def savings_abs(self) -> Decimal:
        return abs(self.savings)

    @property
    def avg_buy_price(self) -> Decimal | None:
        if not self.bought_local_wh:
            return None
        return (self.local_cost * 100 * 1000 / self.bought_local_wh).quantize(Decimal("0.01"))

    @property
    def avg_sell_price(self) -> Decimal | None:
        if not self.sold_local_wh:
            return None
        return (self.local_income * 100 * 1000 / self.sold_local_wh).quantize(Decimal("0.01"))

    @property
    def co2_kg(self) -> Decimal:
        g = sum(s["wh"] * s["co2"] for s in self.sources) / 1000
        return Decimal(g / 1000).quantize(Decimal("0.01"))


def statement(participant: Participant, month: date) -> Statement:
    month = month.replace(day=1)
    start, end = month_bounds(participant.market, month)
    s = Statement(participant, month)
    try:
        rule = rules_in_force(participant.market, start)
        s.tolerance_band_pct = rule.tolerance_band_pct
        s.fee_cap_pct = rule.membership_fee_cap_pct
    except DomainError:  # a market without approved rules has no band
        s.tolerance_band_pct = ZERO
    agg = SettlementLine.objects.filter(
        participant=participant, period_start__gte=start, period_start__lt=end
    ).aggregate(
        bought=Sum("bought_wh"),
        sold=Sum("sold_wh"),
        fs=Sum("from_supplier_wh"),
        ts=Sum("to_supplier_wh"),
        lc=Sum("local_cost"),
        li=Sum("local_income"),
        sc=Sum("supplier_cost"),
        si=Sum("supplier_income"),
        fees=Sum("fees"),
        disc=Sum("discount"),
        only=Sum("supplier_only"),
        band=Sum("band_wh"),
        bandc=Sum("band_cost"),
        n=Sum("periods"),
    )
    s.bought_local_wh, s.sold_local_wh = agg["bought"] or 0, agg["sold"] or 0
    s.from_supplier_wh, s.to_supplier_wh = agg["fs"] or 0, agg["ts"] or 0
    s.local_cost, s.local_income = agg["lc"] or ZERO, agg["li"] or ZERO
    s.supplier_cost, s.supplier_income = agg["sc"] or ZERO, agg["si"] or ZERO
    s.fees, s.discount, s.supplier_only = agg["fees"] or ZERO, agg["disc"] or ZERO, agg["only"] or ZERO
    s.band_wh, s.band_cost = agg["band"] or 0, agg["bandc"] or ZERO
    for name in MONEY_FIELDS:
        setattr(s, name, _money(getattr(s, name)))  # SQLite sums decimals as floats
    s.periods_settled = agg["n"] or 0
    s.periods_pending = SettlementRun.objects.filter(
        market=participant.market, period_start__gte=start, period_start__lt=end, status=SettlementRun.Status.PENDING
    ).count()
    s.membership_fee = _money(
        MonthlyCharge.objects.filter(participant=participant, month=month).aggregate(s=Sum("amount"))["s"]
    )
    src = (
        Trade.objects.filter(buyer=participant, period_start__gte=start, period_start__lt=end)
        .values("energy_source", "co2_g_per_kwh")
        .annotate(wh=Sum("quantity_wh"))
        .order_by("-wh")
    )
    s.sources = [{"source": r["energy_source"], "co2": r["co2_g_per_kwh"], "wh": r["wh"]} for r in src]
    if s.from_supplier_wh:
        s.sources.append({"source": "grid (supplier)", "co2": 207, "wh": s.from_supplier_wh})
    return s


def statement_rows(participant: Participant, month: date) -> list[SettlementLine]:
    """The member's settled half-hours of the month (unsaved lines, in time order).

    Lines are stored per member and day (issue 14 item 10); each period's
    detail is settled again from its run's stored inputs, for this member
    alone, penny for penny what the day lines sum."""
    start, end = month_bounds(participant.market, month.replace(day=1))
    return statement_periods(participant, start, end)


def statement_periods(participant: Participant, start: datetime, end: datetime) -> list[SettlementLine]:
    """The member's settled periods in [start, end), one unsaved line each."""
    from lem.domain import settlement as sm
    from lem.services.settlement import _lines_for

    runs = list(
        SettlementRun.objects.filter(
            market_id=participant.market_id,
            period_start__gte=start,
            period_start__lt=end,
            status=SettlementRun.Status.SETTLED,
        )
        .exclude(inputs=b"")
        .order_by("period_start")
    )
    inputs = [sm.PeriodInputs.unpack(r.inputs) for r in runs]
    kept = [(r, x) for r, x in zip(runs, inputs, strict=True) if (x.members == participant.pk).any()]
    if not kept:
        return []
    _, figs = sm.settle_inputs([x for _, x in kept], only_member=participant.pk)
    return [
        _lines_for(run, [participant.pk], {f: v[k : k + 1] for f, v in figs.items()})[0]
        for k, (run, _) in enumerate(kept)
    ]


# -------------------------------------------------------------- operator


def operator_overview(market: Market, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    since = now - timedelta(days=2)
    return {
        "runs": recent_runs(market, 24),
        "failed_runs": ClearingRun.objects.filter(market=market, status=ClearingRun.Status.FAILED).count(),
        "pending": list(
            SettlementRun.objects.filter(market=market, status=SettlementRun.Status.PENDING).order_by("-period_start")[
                :48
            ]
        ),
        "settled": list(
            SettlementRun.objects.filter(market=market, status=SettlementRun.Status.SETTLED).order_by("-period_start")[
                :24
            ]
        ),
        "imbalance": SettlementLine.objects.filter(participant__market=market, period_start__gte=since).aggregate(
            fs=Sum("from_supplier_wh"),
            ts=Sum("to_supplier_wh"),
            b=Sum("bought_wh"),
            s=Sum("sold_wh"),
        ),
        "arrears": arrears(market),
        "rules": list(RuleVersion.objects.filter(market=market).order_by("-number")[:10]),
        "participants": Participant.objects.filter(market=market).count(),
    }


def rule_in_force_now(market: Market) -> RuleVersion | None:
    try:
        return rules_in_force(market, timezone.now())
    except Exception:  # noqa: BLE001 - no rules yet
        return None


def proposals(market: Market) -> list[RuleVersion]:
    return list(
        RuleVersion.objects.filter(market=market, status=RuleVersion.Status.PROPOSED)
        .annotate(yes=Count("votes", filter=Q(votes__choice="yes")), no=Count("votes", filter=Q(votes__choice="no")))
        .order_by("effective_from")
    )


def is_operator(roles: frozenset[str]) -> bool:
    return Role.MARKET_OPERATOR in roles


def month_progress(market: Market, now: datetime | None = None) -> dict:
    """Settlement progress of the current month: delivered periods vs settled."""
    now = now or timezone.now()
    start, _ = month_bounds(market, timezone.localtime(now).date().replace(day=1))
    step = period_length(market)
    delivered = max(0, int((floor_period(market, now) - start) / step))
    runs = SettlementRun.objects.filter(market=market, period_start__gte=start, period_start__lt=now)
    settled = runs.filter(status=SettlementRun.Status.SETTLED).count()
    pending = runs.filter(status=SettlementRun.Status.PENDING).count()
    return {
        "delivered": delivered,
        "settled": settled,
        "pending": pending,
        "pct": round(100 * settled / delivered) if delivered else 0,
        "month": timezone.localtime(now).date().replace(day=1),
    }
