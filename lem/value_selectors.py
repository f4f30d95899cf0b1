"""Read paths of the value report (issue 17): the latest reports, a
household's estimate and running figure, and the charts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import Sum

from community.charts import fig_html
from lem.models import Participant, RuleVersion, SettlementLine, ValueReport

SIMILAR_HOMES = 5


def latest_report(market, *, kind: str = ValueReport.Kind.YEAR, rule: RuleVersion | None = None) -> ValueReport | None:
    qs = ValueReport.objects.filter(market=market, kind=kind)
    if rule is not None:
        qs = qs.filter(rule=rule)
    done = qs.filter(status=ValueReport.Status.DONE).order_by("-finished_at").first()
    return done


def running_report(market, *, kind: str = ValueReport.Kind.YEAR, rule: RuleVersion | None = None) -> ValueReport | None:
    qs = ValueReport.objects.filter(
        market=market, kind=kind, status__in=(ValueReport.Status.QUEUED, ValueReport.Status.RUNNING)
    )
    if rule is not None:
        qs = qs.filter(rule=rule)
    return qs.order_by("-created_at").first()


def gbp(pence: int | float) -> str:
    """£ with thousands separators and the sign in front: "-£1,234.56"."""
    p = int(round(pence))
    return f"{'-' if p < 0 else ''}£{abs(p) / 100:,.2f}"


def households(report: ValueReport, *, members_only: bool = True) -> list[dict]:
    rows = [r for r in report.result.get("sites", []) if r["household"] and (r["member"] or not members_only)]
    return sorted(rows, key=lambda r: r["saving_after"])


def similar_homes(
    report: ValueReport, *, annual_kwh: int, has_pv: bool, has_battery: bool, exclude_site=None
) -> list[dict]:
    """Member homes of the report most like this one: the same kind of
    kit (PV, battery), then the nearest annual use."""
    rows = [r for r in households(report) if r["site"] != exclude_site]
    same = [r for r in rows if (r["pv_kwp"] > 0) == has_pv and (r["battery_kwh"] > 0) == has_battery]
    pool = same if len(same) >= 2 else [r for r in rows if (r["pv_kwp"] > 0) == has_pv] or rows
    return sorted(pool, key=lambda r: abs(r["annual_kwh"] - annual_kwh))[:SIMILAR_HOMES]


def estimate_for_site(report: ValueReport, site) -> dict | None:
    """What joining would have been worth to a home like ``site`` over the report's year."""
    from assets.models import Device

    kinds = set(Device.objects.filter(site=site).values_list("kind", flat=True))
    annual = site.annual_consumption_kwh or 2700
    like = similar_homes(
        report,
        annual_kwh=annual,
        has_pv=Device.Kind.PV in kinds,
        has_battery=Device.Kind.BATTERY in kinds,
        exclude_site=site.pk,
    )
    if not like:
        return None
    vals = sorted(r["saving_after"] for r in like)
    return {
        "homes": len(like),
        "median": vals[len(vals) // 2],
        "low": vals[0],
        "high": vals[-1],
        "before_fees": sorted(r["saving_before"] for r in like)[len(vals) // 2],
        "local_share": sum(r["local_share_imports"] for r in like) / len(like),
        "has_pv": Device.Kind.PV in kinds,
        "has_battery": Device.Kind.BATTERY in kinds,
        "annual_kwh": annual,
        "year_start": report.result.get("year", {}).get("start", "")[:10],
        "days": report.days,
    }


def running_figure(participant: Participant, *, since: datetime | None = None) -> dict:
    """The household's own figure since it joined: what settlement charged it
    against what the supplier alone would have, over the same meter data,
    with the membership fees it was charged."""
    from lem.models import MonthlyCharge

    lines = SettlementLine.objects.filter(participant_id=participant.pk, run__status="settled")
    if since is not None:
        lines = lines.filter(period_start__gte=since)
    agg = lines.aggregate(
        lc=Sum("local_cost"),
        li=Sum("local_income"),
        sc=Sum("supplier_cost"),
        si=Sum("supplier_income"),
        f=Sum("fees"),
        d=Sum("discount"),
        so=Sum("supplier_only"),
    )
    z = Decimal("0")
    paid = (agg["lc"] or z) - (agg["li"] or z) + (agg["sc"] or z) - (agg["si"] or z) + (agg["f"] or z) - (agg["d"] or z)
    membership = MonthlyCharge.objects.filter(participant=participant).aggregate(s=Sum("amount"))["s"] or z
    supplier = agg["so"]
    if supplier is None:
        return {"periods": 0}
    saving = supplier - paid - membership
    return {
        "periods": lines.aggregate(n=Sum("periods"))["n"] or 0,
        "paid": paid + membership,
        "supplier_only": supplier,
        "saving": saving,
        "since": participant.created_at,
    }


# ------------------------------------------------------------------ charts


def _layout(fig, *, height=340, xtitle="", ytitle="", legend=True):
    fig.update_layout(
        height=height,
        margin=dict(l=56, r=16, t=16, b=48),
        xaxis=dict(title=xtitle, automargin=True),
        yaxis=dict(title=ytitle, tickformat=",.2~f", zeroline=True, zerolinecolor="#888", automargin=True),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0) if legend else None,
        showlegend=legend,
        plot_bgcolor="white",
    )
    return fig_html(fig)


def spread_figure(result: dict) -> str:
    """Who gains, who loses: every member household's £ a year after fees, sorted."""
    import plotly.graph_objects as go

    rows = sorted((r for r in result["sites"] if r["household"] and r["member"]), key=lambda r: r["saving_after"])
    xs = list(range(1, len(rows) + 1))
    colours = ["#c0392b" if r["saving_after"] <= 0 else "#e67e22" if r["fuel_poor"] else "#2b7a78" for r in rows]
    fig = go.Figure()
    fig.add_bar(
        x=xs,
        y=[r["saving_after"] / 100 for r in rows],
        marker_color=colours,
        name="after fees",
        customdata=[[r["name"], r["saving_before"] / 100, "fuel-poor" if r["fuel_poor"] else ""] for r in rows],
        hovertemplate="%{customdata[0]} %{customdata[2]}<br>after fees £%{y:,.2f}<br>before fees £%{customdata[1]:,.2f}<extra></extra>",
    )
    fig.add_scatter(
        x=xs,
        y=[r["saving_before"] / 100 for r in rows],
        mode="markers",
        marker=dict(symbol="line-ew-open", size=10, color="#333"),
        name="before fees",
        hoverinfo="skip",
    )
    return _layout(
        fig, xtitle="households, from least to most better off", ytitle="£ a year against the supplier alone"
    )


def months_figure(result: dict) -> str:
    """Per month: the median household's £ after fees, with the 10th-90th percentile band."""
    import plotly.graph_objects as go

    m = result["months"]
    fig = go.Figure()
    fig.add_scatter(
        x=m,
        y=[v / 100 for v in result["month_p90_after"]],
        mode="lines",
        line=dict(width=0),
        showlegend=False,
        hoverinfo="skip",
    )
    fig.add_scatter(
        x=m,
        y=[v / 100 for v in result["month_p10_after"]],
        mode="lines",
        line=dict(width=0),
        fill="tonexty",
        fillcolor="rgba(43,122,120,0.2)",
        name="10th-90th percentile",
    )
    fig.add_scatter(
        x=m,
        y=[v / 100 for v in result["month_median_after"]],
        mode="lines+markers",
        name="median household",
        line=dict(color="#2b7a78"),
    )
    return _layout(fig, xtitle="month", ytitle="£ against the supplier alone")


def proposal_figure(report: ValueReport) -> str:
    """Each household's £ a year under the rules in force and under the proposal."""
    import plotly.graph_objects as go

    base = {r["site"]: r for r in report.result["sites"] if r["household"] and r["member"]}
    alt = {r["site"]: r for r in report.result["proposal"]["sites"] if r["household"] and r["member"]}
    order = sorted(base, key=lambda s: base[s]["saving_after"])
    xs = list(range(1, len(order) + 1))
    fig = go.Figure()
    fig.add_bar(x=xs, y=[base[s]["saving_after"] / 100 for s in order], name="rules in force", marker_color="#9aa5b1")
    fig.add_bar(
        x=xs, y=[alt[s]["saving_after"] / 100 for s in order if s in alt], name="proposed rules", marker_color="#2b7a78"
    )
    fig.update_layout(barmode="group")
    return _layout(
        fig, xtitle="households, from least to most better off today", ytitle="£ a year against the supplier alone"
    )


def proposal_changes(report: ValueReport) -> dict:
    """Counts and extremes of the change per household, for the vote page."""
    base = {r["site"]: r for r in report.result["sites"] if r["household"] and r["member"]}
    alt = {r["site"]: r for r in report.result["proposal"]["sites"] if r["household"] and r["member"]}
    deltas = sorted(alt[s]["saving_after"] - base[s]["saving_after"] for s in base if s in alt)
    if not deltas:
        return {"n": 0}
    return {
        "n": len(deltas),
        "gain": sum(1 for d in deltas if d > 0),
        "lose": sum(1 for d in deltas if d < 0),
        "same": sum(1 for d in deltas if d == 0),
        "median": deltas[len(deltas) // 2],
        "min": deltas[0],
        "max": deltas[-1],
        "poor_gain": sum(
            1 for s in base if s in alt and base[s]["fuel_poor"] and alt[s]["saving_after"] > base[s]["saving_after"]
        ),
        "poor_n": sum(1 for s in base if base[s]["fuel_poor"]),
    }


RULE_WORDS = {
    "fee_per_trade_pence": "fee per trade",
    "fee_pct": "fee on each trade's value",
    "membership_fee": "membership fee",
    "membership_fee_cap_pct": "membership fee at most (share of the month's saving)",
    "social_discount_pct": "social tariff discount",
    "fund_share_pct": "share of fees to the community fund",
    "tolerance_band_pct": "tolerance band",
    "peak_import_price": "peak import price (16:00-19:00)",
}


def rules_diff(rule: RuleVersion, in_force: RuleVersion) -> list[tuple[str, str, str]]:
    """(what, now, proposed) for each rule that changes."""
    from lem.services.rules import RULE_FIELDS

    out = []
    for f in RULE_FIELDS:
        a, b = getattr(in_force, f), getattr(rule, f)
        if a != b:
            out.append((RULE_WORDS.get(f) or rule._meta.get_field(f).verbose_name, _fmt(f, a), _fmt(f, b)))
    return out


def _fmt(field: str, v) -> str:
    if v is None:
        return "none"
    if field == "membership_fee":
        return f"£{v:,.2f} a month"
    if field.endswith("_pct"):
        return f"{v.normalize():f} %"
    if field == "fee_per_trade_pence":
        return f"{v.normalize():f} p a trade"
    if field == "mechanism":
        return str(v).replace("_", " ")
    return f"{v.normalize():f} p/kWh"
