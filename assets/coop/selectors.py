"""Read paths shared by the co-op's views, API and tasks."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.db.models import Min, Q, Sum
from django.utils import timezone

from community import csvsafe
from community.charts import base_layout, fig_html
from community.errors import DomainError
from community.models import Community

from .domain import accounts as dom_accounts
from .domain import distribution as dom_dist
from .domain import governance as dom_gov
from .domain.errors import CoopError
from .domain.interest import DAY_COUNTS, day_count_denominator, interest_weights_np, penny_days_np
from .domain.money import from_pennies, to_pennies
from .models import (
    Application,
    BenefitFund,
    CoopAsset,
    Distribution,
    FundGrant,
    FundPayment,
    Meeting,
    Member,
    Payment,
    ShareOffer,
    ShareTransaction,
    Society,
    Vote,
)

LONDON = ZoneInfo("Europe/London")
CHOICE_CODE = {
    Member.Choice.PAY: dom_dist.PAY,
    Member.Choice.REINVEST: dom_dist.REINVEST,
    Member.Choice.DONATE: dom_dist.DONATE,
}


def societies(community: Community):
    return Society.objects.filter(community=community).order_by("name")


def member_for_user(society: Society, user: Any) -> Member | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Member.objects.filter(society=society, user=user).first()


def holdings(society: Society) -> dict[int, Decimal]:
    return dict(
        ShareTransaction.objects.filter(society=society)
        .values_list("member")
        .annotate(s=Sum("amount"))
        .values_list("member", "s")
    )


@dataclass
class RegisterRow:
    member: Member
    holding: Decimal
    shares: int
    first_allotment: date | None


def register_rows(society: Society, *, include_ceased: bool = True) -> list[RegisterRow]:
    agg = {
        m: (s, n, d)
        for m, s, n, d in ShareTransaction.objects.filter(society=society)
        .values_list("member")
        .annotate(s=Sum("amount"), n=Sum("shares"), d=Min("day"))
        .values_list("member", "s", "n", "d")
    }
    qs = Member.objects.filter(society=society).select_related("user").order_by("number")
    if not include_ceased:
        qs = qs.filter(status=Member.Status.ACTIVE)
    rows = []
    for m in qs:
        s, n, d = agg.get(m.pk, (Decimal("0.00"), 0, None))
        rows.append(RegisterRow(m, s, n, d))
    return rows


def register_csv(society: Society) -> str:
    """The register of members as the Act requires it kept (s.30): name, address, shares, dates."""
    buf = io.StringIO()
    w = csvsafe.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "member_number",
            "name",
            "email",
            "address",
            "postcode",
            "status",
            "admitted_on",
            "ceased_on",
            "shares",
            "holding_gbp",
            "first_allotment",
        ]
    )
    for r in register_rows(society):
        m = r.member
        w.writerow(
            [
                m.number,
                m.full_name,
                m.email,
                m.address,
                m.postcode,
                m.status,
                m.admitted_on.isoformat(),
                m.ceased_on.isoformat() if m.ceased_on else "",
                r.shares,
                f"{r.holding:.2f}",
                r.first_allotment.isoformat() if r.first_allotment else "",
            ]
        )
    return buf.getvalue()


def share_capital(society: Society) -> Decimal:
    return ShareTransaction.objects.filter(society=society).aggregate(s=Sum("amount"))["s"] or Decimal("0.00")


def active_member_count(society: Society, on: date | None = None) -> int:
    qs = Member.objects.filter(society=society)
    if on is None:
        return qs.filter(status=Member.Status.ACTIVE).count()
    return qs.filter(admitted_on__lte=on).exclude(ceased_on__lte=on).count()


# --- offers -----------------------------------------------------------------------


@dataclass
class OfferStats:
    applications: int
    applied: Decimal
    paid: Decimal
    unpaid: int
    target: Decimal
    pct_of_target: float


def offer_stats(offer: ShareOffer) -> OfferStats:
    apps = offer.applications.exclude(status=Application.Status.WITHDRAWN)
    agg = apps.aggregate(a=Sum("amount"), p=Sum("paid"))
    applied, paid = agg["a"] or Decimal(0), agg["p"] or Decimal(0)
    return OfferStats(
        apps.count(),
        applied,
        paid,
        apps.filter(paid=0).count(),
        offer.target_raise,
        float(paid / offer.target_raise * 100) if offer.target_raise else 0.0,
    )


def how_to_pay(app: Application) -> str:
    """What an applicant is told to do with the money (after applying and on the offer page)."""
    offer = app.offer
    society = offer.society
    when = f"before {offer.closes_on:%d %b %Y}"
    if society.has_bank_details:
        return (
            f"Pay £{app.owed:,} to {society.bank_account_name}, sort code {society.bank_sort_code}, "
            f"account {society.bank_account_number}, with the reference {app.reference} {when}."
        )
    return (
        f"Pay £{app.owed:,} with the reference {app.reference} {when}. The society has not published "
        f"its bank details here yet: the treasurer will send them to {app.email}."
    )


def offer_progress_figure(offer: ShareOffer) -> str:
    """Money received by day against the target (plotly HTML fragment)."""
    import plotly.graph_objects as go

    rows = (
        Payment.objects.filter(application__offer=offer)
        .values_list("received_on")
        .annotate(s=Sum("amount"))
        .order_by("received_on")
        .values_list("received_on", "s")
    )
    days, totals, running = [offer.opens_on], [0.0], Decimal(0)
    for d, s in rows:
        running += s
        days.append(d)
        totals.append(float(running))
    end = max([offer.closes_on, *days])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=days, y=totals, mode="lines+markers", name="Received", line={"shape": "hv"}))
    for label, value, dash in (
        ("Target", offer.target_raise, "dash"),
        ("Minimum", offer.min_raise, "dot"),
        ("Maximum", offer.max_raise, "longdash"),
    ):
        fig.add_trace(
            go.Scatter(x=[offer.opens_on, end], y=[float(value)] * 2, mode="lines", name=label, line={"dash": dash})
        )
    base_layout(fig, 300)
    fig.update_layout(yaxis_title="£ received", legend={"orientation": "h", "y": -0.18})
    return fig_html(fig)


# --- the asset's accounts -------------------------------------------------------------


def month_starts(first: date, n: int = 12) -> list[date]:
    out, y, m = [], first.year, first.month
    for _ in range(n):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _local_midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=LONDON)


def _meter_months(meter_id: int | None, start: date, end: date) -> dict[date, int]:
    """Σ export_wh per local month for a meter (its generation, or the site's export)."""
    if meter_id is None:
        return {}
    from assets.models import IntervalReading

    # One range-filtered sum per local month (an index range scan each), not a
    # per-row time-zone truncation: SQLite evaluates TruncMonth(tzinfo) in Python row by row.
    firsts = []
    d = date(start.year, start.month, 1)
    while d < end:
        firsts.append(d)
        d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    if not firsts:
        return {}
    bounds = [_local_midnight(m) for m in firsts] + [_local_midnight(end)]
    sums = IntervalReading.objects.filter(
        meter_id=meter_id, period_start__gte=_local_midnight(start), period_start__lt=_local_midnight(end)
    ).aggregate(
        **{
            f"m{i}": Sum(
                "export_wh",
                filter=Q(period_start__gte=max(bounds[i], _local_midnight(start)), period_start__lt=bounds[i + 1]),
            )
            for i in range(len(firsts))
        }
    )
    return {m: int(sums[f"m{i}"] or 0) for i, m in enumerate(firsts) if sums[f"m{i}"]}


@dataclass
class MonthEnergy:
    month: date
    generated_wh: int
    exported_wh: int
    onsite_wh: int


def asset_energy(asset: CoopAsset, months: list[date]) -> list[MonthEnergy]:
    """Generation from the asset's meter; what the host's meter exported went to the grid (PPA),
    the rest was used on site by the host building."""
    end = month_starts(months[-1], 2)[1]
    gen = _meter_months(asset.generation_meter_id, months[0], end)
    exp = _meter_months(asset.export_meter_id, months[0], end)
    out = []
    for m in months:
        g = gen.get(m, 0)
        e = min(exp.get(m, 0), g) if asset.export_meter_id else g
        out.append(MonthEnergy(m, g, e, g - e))
    return out


def asset_finance(asset: CoopAsset) -> dom_accounts.AssetFinance:
    loans = tuple(
        dom_accounts.Loan(f.name, f.amount, f.annual_rate, f.term_months, f.first_payment)
        for f in asset.funding.filter(kind="loan")
    )
    return dom_accounts.AssetFinance(
        capex=asset.capex,
        life_years=asset.life_years,
        om_pct_of_capex=asset.om_pct_of_capex,
        insurance_per_year=asset.insurance_per_year,
        admin_per_member_year=asset.admin_per_member_year,
        ppa_p_per_kwh=asset.ppa_p_per_kwh,
        host_p_per_kwh=asset.host_p_per_kwh,
        loans=loans,
    )


def _market_income_reader():
    """``lem.income.market_income``, found without importing the market (a higher app)."""
    from community.panels import providers

    found = providers("income", "market_income")
    return found[0] if found else None


def asset_market_sites(asset: CoopAsset) -> list[int]:
    """The site whose market sales are this asset's: where its exports leave (the export meter's
    site, else its generation meter's or device's). Two of the society's assets on one site:
    the site's sales are counted once, with the first asset."""
    from assets.models import Device, Meter

    site_id = None
    for model, pk in ((Meter, asset.export_meter_id), (Meter, asset.generation_meter_id), (Device, asset.device_id)):
        if pk is not None:
            site_id = model.objects.filter(pk=pk).values_list("site_id", flat=True).first()
            if site_id is not None:
                break
    if site_id is None:
        return []
    for other in CoopAsset.objects.filter(society_id=asset.society_id, pk__lt=asset.pk):
        if asset_market_sites(other) == [site_id]:
            return []
    return [site_id]


@dataclass(frozen=True)
class MarketMonth:
    sold_wh: int = 0
    income: Decimal = Decimal("0.00")
    pending: int = 0  # periods still waiting for meter data


def asset_market_months(asset: CoopAsset, months: list[date]) -> dict[date, MarketMonth]:
    """What the local market settled for the asset's exports, month by month (UK months)."""
    reader = _market_income_reader()
    sites = asset_market_sites(asset) if reader else []
    if not sites:
        return {}
    out = {}
    for m in months:
        got = reader(sites, m, month_starts(m, 2)[1])
        out[m] = MarketMonth(got["sold_wh"], got["income"], got["pending"])
    return out


def asset_accounts(asset: CoopAsset, first_month: date, n: int = 12) -> list[dom_accounts.MonthAccount]:
    months = month_starts(first_month, n)
    energy = asset_energy(asset, months)
    market = asset_market_months(asset, months)
    entries: dict[tuple[date, str], Decimal] = {}
    for month, kind, s in (
        asset.entries.filter(month__gte=months[0], month__lte=months[-1])
        .values_list("month", "kind")
        .annotate(s=Sum("amount"))
        .values_list("month", "kind", "s")
    ):
        entries[(month, kind)] = s
    society = asset.society
    inputs = []
    for e in energy:
        month_end = month_starts(e.month, 2)[1]
        inputs.append(
            dom_accounts.MonthInput(
                month=e.month,
                exported_wh=e.exported_wh,
                onsite_wh=e.onsite_wh,
                members=active_member_count(society, on=month_end),
                flex_revenue=entries.get((e.month, "flex"), Decimal(0)),
                other_costs=entries.get((e.month, "cost"), Decimal(0)),
                in_service=month_end > asset.commissioned_on,
                market_wh=market.get(e.month, MarketMonth()).sold_wh,
                market_revenue=market.get(e.month, MarketMonth()).income,
            )
        )
    try:
        return dom_accounts.monthly_accounts(asset_finance(asset), inputs)
    except CoopError as exc:
        raise DomainError(str(exc)) from exc


def accounts_figure(accounts: list[dom_accounts.MonthAccount]) -> str:
    import plotly.graph_objects as go

    x = [a.month.strftime("%b %Y") for a in accounts]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=x, y=[float(from_pennies(a.ppa_revenue)) for a in accounts], name="PPA (exported)", marker_color="#f59e0b"
        )
    )
    fig.add_trace(
        go.Bar(
            x=x, y=[float(from_pennies(a.host_revenue)) for a in accounts], name="Host building", marker_color="#0f766e"
        )
    )
    fig.add_trace(
        go.Bar(
            x=x, y=[float(from_pennies(a.flex_revenue)) for a in accounts], name="Flexibility", marker_color="#6366f1"
        )
    )
    if any(a.market_revenue for a in accounts):
        fig.add_trace(
            go.Bar(
                x=x,
                y=[float(from_pennies(a.market_revenue)) for a in accounts],
                name="Local market",
                marker_color="#16a34a",
            )
        )
    fig.add_trace(
        go.Bar(
            x=x,
            y=[-float(from_pennies(a.operating_costs + a.loan_interest + a.depreciation)) for a in accounts],
            name="Costs",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[float(from_pennies(a.surplus)) for a in accounts],
            name="Surplus",
            mode="lines+markers",
            line={"color": "#111"},
        )
    )
    base_layout(fig, 340)
    fig.update_layout(barmode="relative", yaxis_title="£", legend={"orientation": "h", "y": -0.18})
    return fig_html(fig)


def generation_figure(energy: list[MonthEnergy]) -> str:
    import plotly.graph_objects as go

    x = [e.month.strftime("%b %Y") for e in energy]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(x=x, y=[e.onsite_wh / 1000 for e in energy], name="Used by the host building", marker_color="#0f766e")
    )
    fig.add_trace(
        go.Bar(x=x, y=[e.exported_wh / 1000 for e in energy], name="Exported to the grid", marker_color="#f59e0b")
    )
    base_layout(fig, 280)
    fig.update_layout(barmode="stack", yaxis_title="kWh", legend={"orientation": "h", "y": -0.18})
    return fig_html(fig)


def year_bounds(society: Society, year: int) -> tuple[date, date]:
    """The financial year ending in ``year``'s year-end month: [start, end) dates."""
    end_month = society.year_end_month
    end = date(year + (1 if end_month == 12 else 0), 1 if end_month == 12 else end_month + 1, 1)
    start = date(end.year - 1, end.month, 1)
    return start, end


def society_surplus(society: Society, start: date, end: date) -> Decimal:
    months = (end.year - start.year) * 12 + end.month - start.month
    total = 0
    for asset in society.assets.all():
        total += sum(a.surplus for a in asset_accounts(asset, start, months))
    return from_pennies(total)


# --- distributions -------------------------------------------------------------------


@dataclass
class RegisterArrays:
    members: list[Member]
    penny_days: np.ndarray
    holdings: np.ndarray  # pennies held on ``holding_on`` (the commit day)
    choices: np.ndarray
    interest_weights: np.ndarray | None = None  # per the society's day count
    denominator: int = 365


def register_arrays(society: Society, start: date, end: date, holding_on: date | None = None) -> RegisterArrays:
    """Penny-days over [start, end), day-count weights, and each member's holding on
    ``holding_on`` (default: the year end) for the reinvestment cap."""
    members = list(Member.objects.filter(society=society).order_by("number"))
    index = {m.pk: i for i, m in enumerate(members)}
    last = max(end, holding_on + timedelta(days=1)) if holding_on else end
    rows = list(
        ShareTransaction.objects.filter(society=society, day__lt=last).values_list("member_id", "day", "amount")
    )
    n = len(members)
    day_count = society.interest_day_count
    denominator = day_count_denominator(day_count)
    if rows:
        mi = np.fromiter((index[r[0]] for r in rows), dtype=np.int64, count=len(rows))
        day = np.fromiter((r[1].toordinal() for r in rows), dtype=np.int64, count=len(rows))
        pen = np.fromiter((to_pennies(r[2]) for r in rows), dtype=np.int64, count=len(rows))
        in_year = day < end.toordinal()
        try:
            w = penny_days_np(
                mi[in_year], day[in_year], pen[in_year], start=start.toordinal(), end=end.toordinal(), n_members=n
            )
            iw, denominator = interest_weights_np(
                mi[in_year],
                day[in_year],
                pen[in_year],
                start=start.toordinal(),
                end=end.toordinal(),
                n_members=n,
                day_count=day_count,
            )
        except CoopError as exc:
            raise DomainError(str(exc)) from exc
        upto = day <= (holding_on or end - timedelta(days=1)).toordinal()
        hold = np.zeros(n, dtype=np.int64)
        np.add.at(hold, mi[upto], pen[upto])
    else:
        w = np.zeros(n, dtype=np.int64)
        iw = w.copy()
        hold = np.zeros(n, dtype=np.int64)
    # members who have left are paid in cash: they can no longer hold shares
    choices = np.array(
        [CHOICE_CODE[m.distribution_choice] if m.status == Member.Status.ACTIVE else dom_dist.PAY for m in members],
        dtype=np.int8,
    )
    return RegisterArrays(members, w, hold, choices, iw, denominator)


@dataclass
class PreviewLine:
    member: Member
    penny_days: int
    interest: Decimal
    dividend: Decimal
    choice: str
    cash: Decimal
    reinvested: Decimal
    new_shares: int
    donated: Decimal
    note: str = ""
    patronage: int | None = None

    @property
    def gross(self) -> Decimal:
        return self.interest + self.dividend

    @property
    def average_holding(self) -> Decimal:
        return from_pennies(self.penny_days // 365)


@dataclass
class Preview:
    society: Society
    start: date
    end: date
    proposal: dom_dist.Proposal
    result: dom_dist.DistributionResult
    lines: list[PreviewLine]
    max_rate: Decimal
    holding_on: date | None = None
    day_count: str = "act365f"
    dividend_basis: str = "holding"

    @property
    def day_count_label(self) -> str:
        return DAY_COUNTS.get(self.day_count, self.day_count)

    @property
    def totals(self) -> dict[str, Decimal]:
        return self.result.totals()

    @property
    def missing_bank_details(self) -> list[Member]:
        return [
            ln.member for ln in self.lines if ln.cash > 0 and not (ln.member.sort_code and ln.member.account_number)
        ]


CHOICE_NAME = {
    dom_dist.PAY: Member.Choice.PAY,
    dom_dist.REINVEST: Member.Choice.REINVEST,
    dom_dist.DONATE: Member.Choice.DONATE,
}


def distribution_preview(
    *,
    society: Society,
    start: date,
    end: date,
    interest_rate: Decimal,
    fund_contribution: Decimal = Decimal(0),
    dividend_total: Decimal = Decimal(0),
    surplus: Decimal | None = None,
    today: date | None = None,
    dividend_basis: str = "holding",
    patronage: dict[int, int] | None = None,
) -> Preview:
    """Compute a distribution without writing anything; raises DomainError if the rules or surplus forbid it.

    ``today``: the day it would be committed: the reinvestment cap applies to
    each member's holding on that day. ``dividend_basis``: "holding" (pro rata
    to shareholding over the year) or "patronage" (co-operative societies: pro
    rata to ``patronage``, membership number -> a non-negative whole number,
    e.g. kWh bought from the society)."""
    if end <= start:
        raise DomainError("The distribution's year must end after it starts.")
    if today is None:
        today = timezone.localdate()
    if surplus is None:
        surplus = society_surplus(society, start, end)
    arrays = register_arrays(society, start, end, holding_on=max(today, end - timedelta(days=1)))
    basis = None
    if dividend_basis not in ("holding", "patronage"):
        raise DomainError("The dividend is shared by shareholding or by patronage.", field="dividend_basis")
    if dividend_basis == "patronage":
        if society.kind != Society.Kind.COOP:
            raise DomainError(
                "Only a co-operative society pays a patronage dividend; a community benefit society pays interest.",
                field="dividend_basis",
            )
        patronage = patronage or {}
        numbers = {m.number for m in arrays.members}
        unknown = sorted(set(patronage) - numbers)
        if unknown:
            raise DomainError(f"No member number {unknown[0]} in the register.", field="patronage")
        if any(int(v) < 0 for v in patronage.values()):
            raise DomainError("Patronage cannot be negative.", field="patronage")
        basis = np.array([int(patronage.get(m.number, 0)) for m in arrays.members], dtype=np.int64)
        if Decimal(dividend_total) > 0 and not basis.sum():
            raise DomainError("A patronage dividend needs some patronage to share it by.", field="patronage")
    proposal = dom_dist.Proposal(
        surplus=surplus,
        interest_rate=Decimal(interest_rate),
        fund_contribution=Decimal(fund_contribution),
        dividend_total=Decimal(dividend_total),
    )
    max_rate = dom_dist.max_affordable_rate(
        surplus=surplus,
        total_penny_days=int(arrays.interest_weights.sum()),
        fund_contribution=Decimal(fund_contribution),
        dividend_total=Decimal(dividend_total),
        rules=society.rules(),
        denominator=arrays.denominator,
    )
    try:
        result = dom_dist.run_distribution(
            society.rules(),
            proposal,
            penny_days=arrays.penny_days,
            holdings=arrays.holdings,
            choices=arrays.choices,
            patronage=basis,
            interest_weights=arrays.interest_weights,
            denominator=arrays.denominator,
        )
    except CoopError as exc:
        raise DomainError(str(exc), field="interest_rate") from exc
    lines = []
    max_holding = society.max_holding
    for i, m in enumerate(arrays.members):
        if arrays.penny_days[i] == 0 and result.gross[i] == 0:
            continue
        note = ""
        if result.capped[i]:
            note = (
                f"£{from_pennies(result.cash[i]):,} paid in cash: reinvesting it all would take the holding "
                f"(£{from_pennies(arrays.holdings[i]):,} on {today:%d %b %Y}) above the £{max_holding:,} maximum."
            )
        lines.append(
            PreviewLine(
                m,
                int(arrays.penny_days[i]),
                from_pennies(result.interest[i]),
                from_pennies(result.dividend[i]),
                CHOICE_NAME[int(result.choice[i])],
                from_pennies(result.cash[i]),
                from_pennies(result.reinvested[i]),
                int(result.new_shares[i]),
                from_pennies(result.donated[i]),
                note,
                None if basis is None else int(basis[i]),
            )
        )
    return Preview(
        society, start, end, proposal, result, lines, max_rate, today, society.interest_day_count, dividend_basis
    )


@dataclass(frozen=True)
class DistributionFigures:
    """A committed distribution's figures, summed from its lines: the page's cards and its
    table come from the same rows, so the cards always add up to the lines shown."""

    interest: Decimal
    dividend: Decimal
    cash: Decimal
    reinvested: Decimal
    donated: Decimal
    fund_contribution: Decimal
    members: int

    @property
    def declared(self) -> Decimal:
        return self.interest + self.dividend

    @property
    def to_fund(self) -> Decimal:
        """Members' donated interest plus the society's own contribution."""
        return self.donated + self.fund_contribution


def _pounds(x) -> Decimal:
    # SQLite sums decimals as floats: back to exact pennies
    return Decimal(str(x or 0)).quantize(Decimal("0.01"))


def distribution_figures(distribution: Distribution) -> DistributionFigures:
    agg = distribution.lines.aggregate(
        i=Sum("interest"), d=Sum("dividend"), c=Sum("cash"), r=Sum("reinvested"), don=Sum("donated")
    )
    return DistributionFigures(
        interest=_pounds(agg["i"]),
        dividend=_pounds(agg["d"]),
        cash=_pounds(agg["c"]),
        reinvested=_pounds(agg["r"]),
        donated=_pounds(agg["don"]),
        fund_contribution=_pounds(distribution.fund_contribution),
        members=distribution.lines.count(),
    )


def payment_file_csv(distribution: Distribution) -> str:
    from .domain.bank import PaymentLine, payment_file

    lines = []
    for ln in distribution.lines.select_related("member").filter(cash__gt=0):
        m = ln.member
        if m.sort_code and m.account_number:
            lines.append(
                PaymentLine(
                    m.full_name,
                    m.sort_code,
                    m.account_number,
                    to_pennies(ln.cash),
                    f"INT {distribution.period_start:%Y} M{m.number}",
                )
            )
    return payment_file(lines)


def refund_file_csv(offer: ShareOffer) -> str:
    from .domain.bank import PaymentLine, payment_file

    lines = [
        PaymentLine(a.full_name, a.sort_code, a.account_number, to_pennies(a.refund), f"REFUND {a.reference}")
        for a in offer.applications.filter(refund__gt=0)
        if a.sort_code and a.account_number
    ]
    return payment_file(lines)


# --- governance ------------------------------------------------------------------------


def resolution_results(meeting: Meeting) -> list[tuple[Any, dom_gov.Tally]]:
    out = []
    for r in meeting.resolutions.prefetch_related("votes"):
        out.append((r, dom_gov.tally([v.choice for v in r.votes.all()], kind=r.kind, quorum=meeting.quorum)))
    return out


def member_votes(meeting: Meeting, member: Member | None) -> dict[int, Vote]:
    if member is None:
        return {}
    return {v.resolution_id: v for v in Vote.objects.filter(resolution__meeting=meeting, member=member)}


def voting_open(meeting: Meeting, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return meeting.vote_opens <= now < meeting.vote_closes


# --- funds --------------------------------------------------------------------------------


def fund_totals(fund: BenefitFund) -> dict[str, Decimal]:
    paid_in = FundPayment.objects.filter(fund=fund).aggregate(s=Sum("amount"))["s"] or Decimal("0.00")
    granted = FundGrant.objects.filter(fund=fund).aggregate(s=Sum("amount"))["s"] or Decimal("0.00")
    return {"paid_in": paid_in, "granted": granted, "balance": paid_in - granted}


def funds(community: Community):
    return BenefitFund.objects.filter(community=community).select_related("society")


def kept_in_community(society: Society) -> dict[str, Decimal]:
    """Money the society has returned to its members and community."""
    agg = society.distributions.aggregate(
        i=Sum("interest_total"), d=Sum("dividend_total"), f=Sum("fund_contribution"), don=Sum("donated_total")
    )
    fund = society.funds.first()
    return {
        "interest": agg["i"] or Decimal("0.00"),
        "dividends": agg["d"] or Decimal("0.00"),
        "to_fund": (agg["f"] or Decimal("0.00")) + (agg["don"] or Decimal("0.00")),
        "grants": fund_totals(fund)["granted"] if fund else Decimal("0.00"),
        "share_capital": share_capital(society),
    }
