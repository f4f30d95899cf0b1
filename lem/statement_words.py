"""A household's monthly statement in words: one wording, from one place,
for the HTML page, the PDF and anywhere else a statement is shown (issue 15).

Money is shown as "£1,234.56"; what the household receives or is credited
as "-£1.34"; a zero is "£0.00", never "-£0.00". The headline compares the
month with the supplier alone: "£1.34 less than the supplier alone",
"£1.34 more than the supplier alone" or "the same as the supplier alone".

The tolerance band (seed 001 §3.5.1) is said once here too: the note on how
a difference between what was traded and what the meter measured is settled,
and the two lines splitting the supplier figures into what settled inside the
band (at the local price) and outside it (at the supplier's prices).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

MINUS = "-"  # ASCII, so the PDF's standard fonts print it too


def gbp(amount: Decimal, *, credit: bool = False) -> str:
    """Pounds to 2 dp with thousands separators; ``credit``: shown with a minus."""
    d = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if d == 0:
        return "£0.00"
    neg = (d < 0) != credit
    return f"{MINUS if neg else ''}£{abs(d):,.2f}"


def kwh(wh: int | None) -> str:
    if wh is None:
        return ""
    return f"{wh / 1000:,.2f} kWh"


def against_supplier(saving: Decimal) -> str:
    """The month against the supplier alone, in words (saving > 0: cheaper)."""
    d = Decimal(saving).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if d > 0:
        return f"£{d:,.2f} less than the supplier alone"
    if d < 0:
        return f"£{-d:,.2f} more than the supplier alone"
    return "the same as the supplier alone"


def statement_rows(s) -> list[dict]:
    """The statement's lines: label, energy, average price, money (as shown)."""
    rows = [
        ("Bought from neighbours", s.bought_local_wh, s.avg_buy_price, s.local_cost, False),
        ("Sold to neighbours", s.sold_local_wh, s.avg_sell_price, s.local_income, True),
        ("Bought from the supplier", s.from_supplier_wh, None, s.supplier_cost, False),
        ("Exported to the supplier", s.to_supplier_wh, None, s.supplier_income, True),
        ("Market fees", None, None, s.fees, False),
        ("Membership fee (days traded)", None, None, s.membership_fee, False),
        ("Social tariff discount", None, None, s.discount, True),
    ]
    return [
        {
            "label": label,
            "energy": kwh(wh),
            "avg": f"{avg} p/kWh" if avg is not None else "",
            "money": gbp(amount, credit=credit),
        }
        for label, wh, avg, amount, credit in rows
    ]


def fee_note(cap_pct: Decimal | None) -> str:
    """How the membership fee was worked out (issue 17)."""
    note = "The membership fee is charged for the days you traded, pro rata."
    if cap_pct is None:
        return note
    pct = f"{Decimal(cap_pct).normalize():f}"
    return (
        f"{note} It is never more than {pct}% of what trading saved you in the month against the supplier "
        "alone, and nothing in a month trading saved you nothing (the market's rules)."
    )


def tolerance_note(band_pct: Decimal | None) -> str:
    """How a difference between what was traded and what the meter measured is settled."""
    if not band_pct:
        return (
            "Any difference between what you traded and what your meter measured is settled at the supplier's prices."
        )
    pct = f"{Decimal(band_pct).normalize():f}"
    return (
        f"Differences of up to {pct}% of what you traded in a half-hour are settled at the local price "
        "you traded at; larger ones at the supplier's prices (the market's tolerance band)."
    )


BAND_INSIDE = "Inside the tolerance band (at your local price)"
BAND_OUTSIDE = "Outside the band (at the supplier's prices)"


def band_rows(s) -> list[dict]:
    """The supplier lines split by the tolerance band: energy and net money
    (a net credit shown with a minus). Empty when the month had no band and
    nothing settled inside one."""
    if not s.tolerance_band_pct and not s.band_wh:
        return []
    supplier_net = s.supplier_cost - s.supplier_income
    outside_wh = s.from_supplier_wh + s.to_supplier_wh - s.band_wh
    return [
        {"label": BAND_INSIDE, "energy": kwh(s.band_wh), "money": gbp(s.band_cost)},
        {"label": BAND_OUTSIDE, "energy": kwh(outside_wh), "money": gbp(supplier_net - s.band_cost)},
    ]


def statement_summary(s) -> dict:
    return {
        "total": gbp(s.total),
        "supplier_only": gbp(s.supplier_only),
        "headline": against_supplier(s.savings),
        "saved": s.savings > 0,
        "tolerance_note": tolerance_note(s.tolerance_band_pct),
        "fee_note": fee_note(s.fee_cap_pct),
        "band": band_rows(s),
    }
